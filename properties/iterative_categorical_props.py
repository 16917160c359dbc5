"""Hypothesis stateful suite for categorical refinement (spec: ``spec/iterative-categorical.md``).

Long random runs over the same transition system the exhaustive checker uses,
in a configuration too large to exhaust: n = 5 with two crashes, a duplicating
network and an intruder. After every step IR-C1 and IR-C2 are asserted; a
failure shrinks to a short sequence of choices.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mabeam.api.verify import build_model
from mabeam.checker.stateful import protocol_state_machine
from mabeam.core import Kind
from mabeam.protocols.iterative_categorical import ENTRY

SAFETY_IDS = {"IR-C1", "IR-C2"}

Categorical5 = protocol_state_machine(lambda: build_model(ENTRY, 5, 2), ENTRY.properties, name="Categorical5")
Categorical5.TestCase.settings = settings(max_examples=30, stateful_step_count=50, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])

TestCategorical5 = Categorical5.TestCase


def test_the_suite_covers_the_safety_properties() -> None:
    assert {p.id for p in ENTRY.properties if p.kind is Kind.ALWAYS} == SAFETY_IDS


def test_a_mutant_makes_the_machine_fail() -> None:
    """The suite is only trusted because it rejects a deliberately broken protocol.

    Shrinking is skipped: finding the failure is the point.
    """
    machine = protocol_state_machine(lambda: build_model(ENTRY, 3, 1, mutant="invent-answer"), ENTRY.properties,
                                     name="CategoricalMutant")
    with pytest.raises(AssertionError, match=r"IR-C1"):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=200, stateful_step_count=40, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
