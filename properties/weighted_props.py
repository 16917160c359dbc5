"""Hypothesis stateful suites for weighted voting (WV-S1 .. WV-S5, WV-C1, WV-C2, spec/weighted.md).

Long random runs over larger groups than the exhaustive check covers (up to 7
agents), on a lossy, duplicating multiset network with crashes and Byzantine
agents that equivocate, asserting the same invariant functions after every
step. The last test shows the suite can fail: a mutant is caught.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from mabeam.checker import ActorModel, CheckConfig
from mabeam.checker.stateful import protocol_state_machine
from mabeam.core import Kind
from mabeam.protocols.weighted import PROPERTIES, WeightedVoting, build
from mabeam.protocols.weighted.mutants import TrustSelfReportedWeight

SAFETY_IDS = {"WV-S1", "WV-S2", "WV-S3", "WV-S4", "WV-S5", "WV-C1", "WV-C2"}


def byzantine_model(agents: int, faulty: int, cls: type[WeightedVoting] = WeightedVoting, *,
                    drops: int = 0, duplicates: int = 0, crashes: int = 0,
                    communication: str = "all-to-all") -> Callable[[], ActorModel]:
    """The last ``faulty`` agents are Byzantine (weight below a third); honest ones may also crash."""
    def make() -> ActorModel:
        protocol = build(agents, faulty, cls, communication=communication)
        byzantine = frozenset(protocol.agents[agents - faulty:])
        assert protocol.tolerates(byzantine)
        return ActorModel(protocol, CheckConfig(network="multiset", byzantine=byzantine, drops=drops,
                                                duplicates=duplicates, max_crashes=crashes, intruder=True))
    return make


def crash_model(agents: int, crashes: int, *, drops: int = 0, duplicates: int = 0) -> Callable[[], ActorModel]:
    def make() -> ActorModel:
        protocol = build(agents, 0, mode="crash")
        return ActorModel(protocol, CheckConfig(network="multiset", max_crashes=crashes, drops=drops,
                                                duplicates=duplicates, intruder=True))
    return make


def test_the_suite_asserts_every_safety_property() -> None:
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == SAFETY_IDS


SEVEN_TWO_BYZANTINE = protocol_state_machine(
    byzantine_model(7, 2, drops=2, duplicates=2, crashes=1), PROPERTIES, "WeightedSevenTwoByzantine")
SEVEN_TWO_BYZANTINE.TestCase.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestWeightedSevenTwoByzantine = SEVEN_TWO_BYZANTINE.TestCase

SIX_ONE_BYZANTINE = protocol_state_machine(
    byzantine_model(6, 1, duplicates=3), PROPERTIES, "WeightedSixOneByzantine")
SIX_ONE_BYZANTINE.TestCase.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestWeightedSixOneByzantine = SIX_ONE_BYZANTINE.TestCase

SIX_ONE_LINEAR = protocol_state_machine(
    byzantine_model(6, 1, duplicates=2, crashes=1, communication="linear"), PROPERTIES, "WeightedSixOneLinear")
SIX_ONE_LINEAR.TestCase.settings = settings(
    max_examples=20, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestWeightedSixOneLinear = SIX_ONE_LINEAR.TestCase

FIVE_CRASH = protocol_state_machine(crash_model(5, 2, drops=1, duplicates=2), PROPERTIES, "WeightedFiveCrash")
FIVE_CRASH.TestCase.settings = settings(
    max_examples=25, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestWeightedFiveCrash = FIVE_CRASH.TestCase


def test_the_suite_catches_a_mutant() -> None:
    """A Byzantine agent whose self-reported weight is believed breaks agreement/backing."""
    machine = protocol_state_machine(byzantine_model(4, 1, TrustSelfReportedWeight), PROPERTIES,
                                     "TrustSelfReportedWeightMachine")
    with pytest.raises(AssertionError, match="WV-S"):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=200, stateful_step_count=20, deadline=None, database=None,
            suppress_health_check=list(HealthCheck)))
