"""Hypothesis stateful suites for approximate agreement (spec: ``spec/iterative.md``).

Long random runs over the same transition system the exhaustive checker uses,
in configurations too large to exhaust: the full equivocating adversary
(n = 4, f = 1), n = 6 > 5f (where every round is synchronous, so IR-S3 is
unconditional) and n = 7, f = 2. After every step the ALWAYS properties are
asserted; a failure shrinks to a short sequence of choices.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mabeam.checker import ActorModel, CheckConfig
from mabeam.checker.stateful import protocol_state_machine
from mabeam.core import Snapshot, always
from mabeam.protocols.iterative import ENTRY, ApproximateAgreement, build, synchronous_rounds
from mabeam.protocols.iterative.mutants import CountEquivocation, TrimOneTooFew

SAFETY_IDS = {"IR-S1", "IR-S2", "IR-S3", "IR-S4"}


@always("IR-S2", "Every round is synchronous when n > 5f")
def synchronous_when_n_exceeds_5f(snap: Snapshot) -> bool:
    """Any two views of >= n-f entries share >= n-3f >= 2f+1 entries (spec, section 1)."""
    return snap.protocol.n <= 5 * snap.protocol.f or synchronous_rounds(snap)


def _numeric_model(agents: int, faulty: int, cls: type[ApproximateAgreement] = ApproximateAgreement,
                   **options: object) -> ActorModel:
    protocol = build(agents, faulty, cls, equivocate_to_one=True, **options)
    return ActorModel(protocol, CheckConfig(network="duplicating", intruder=True,
                                            byzantine=ENTRY.faulty_agents(protocol, faulty)))


def _settings(examples: int, steps: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


Numeric4 = protocol_state_machine(lambda: _numeric_model(4, 1), ENTRY.properties, name="Numeric4")
Numeric4.TestCase.settings = _settings(40, 40)
Numeric6 = protocol_state_machine(lambda: _numeric_model(6, 1),
                                  ENTRY.properties + (synchronous_when_n_exceeds_5f,), name="Numeric6")
Numeric6.TestCase.settings = _settings(15, 60)
Numeric7 = protocol_state_machine(lambda: _numeric_model(7, 2), ENTRY.properties, name="Numeric7")
Numeric7.TestCase.settings = _settings(10, 60)

TestNumeric4 = Numeric4.TestCase
TestNumeric6 = Numeric6.TestCase
TestNumeric7 = Numeric7.TestCase


def test_the_suites_cover_the_safety_properties() -> None:
    assert {p.id for p in ENTRY.properties if p.kind.value == "always"} == SAFETY_IDS


@pytest.mark.parametrize(("make_model", "properties", "broken"), [
    (lambda: _numeric_model(7, 2, TrimOneTooFew, epsilon=2), ENTRY.properties, r"IR-S[123]"),
    (lambda: _numeric_model(4, 1, CountEquivocation, epsilon=2), ENTRY.properties, r"IR-S4"),
], ids=["trim-f-minus-1 at n=7 f=2", "count-equivocation"])
def test_a_mutant_makes_the_machine_fail(make_model: object, properties: tuple, broken: str) -> None:
    """The suites are only trusted because they reject deliberately broken protocols.

    Shrinking is skipped: finding the failure is the point, and shrinking long
    Byzantine runs would dominate the test's time.
    """
    machine = protocol_state_machine(make_model, properties, name="IterativeMutant")
    with pytest.raises(AssertionError, match=broken):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=200, stateful_step_count=40, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
