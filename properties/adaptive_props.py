"""Hypothesis stateful suites for adaptive coordination (ADAPT-S1 .. ADAPT-S5, spec/adaptive.md).

Long random runs over larger groups and longer chains than the exhaustive check
covers (up to 7 agents, Byzantine -> weighted -> majority), on a lossy,
duplicating multiset network with crashes and Byzantine members that may send
anything they can sign, asserting the same invariant functions after every
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
from mabeam.protocols.adaptive import PROPERTIES, AdaptiveCoordination, build
from mabeam.protocols.adaptive.mutants import SmallerSwitchQuorum

SAFETY_IDS = {"ADAPT-S1", "ADAPT-S2", "ADAPT-S3", "ADAPT-S4", "ADAPT-S5"}


def model(agents: int, faulty: int, kinds: str = "bwm", cls: type[AdaptiveCoordination] = AdaptiveCoordination,
          *, adversary: str = "full", drops: int = 0, duplicates: int = 0,
          crashes: int = 0) -> Callable[[], ActorModel]:
    """The last ``faulty`` members are Byzantine; honest ones may also crash."""
    def make() -> ActorModel:
        protocol = build(agents, faulty, cls, kinds=kinds, adversary=adversary)
        return ActorModel(protocol, CheckConfig(
            network="multiset", byzantine=frozenset(protocol.agents[agents - faulty:]), drops=drops,
            duplicates=duplicates, max_crashes=crashes, intruder=True))
    return make


def test_the_suite_asserts_every_safety_property() -> None:
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == SAFETY_IDS


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, stateful_step_count=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


SEVEN_TWO_BYZANTINE = protocol_state_machine(
    model(7, 2, adversary="override", drops=2, duplicates=2, crashes=1), PROPERTIES,
    "AdaptiveSevenTwoByzantine")
SEVEN_TWO_BYZANTINE.TestCase.settings = _settings(6)
TestAdaptiveSevenTwoByzantine = SEVEN_TWO_BYZANTINE.TestCase

FIVE_ONE_FULL = protocol_state_machine(model(5, 1, duplicates=2), PROPERTIES, "AdaptiveFiveOneFull")
FIVE_ONE_FULL.TestCase.settings = _settings(6)
TestAdaptiveFiveOneFull = FIVE_ONE_FULL.TestCase

FOUR_ONE_OVERRIDE = protocol_state_machine(
    model(4, 1, "bw", adversary="override", duplicates=2), PROPERTIES, "AdaptiveFourOneOverride")
FOUR_ONE_OVERRIDE.TestCase.settings = _settings(10)
TestAdaptiveFourOneOverride = FOUR_ONE_OVERRIDE.TestCase

FIVE_CRASH = protocol_state_machine(model(5, 0, drops=1, crashes=2), PROPERTIES, "AdaptiveFiveCrash")
FIVE_CRASH.TestCase.settings = _settings(8)
TestAdaptiveFiveCrash = FIVE_CRASH.TestCase


def test_the_suite_catches_a_mutant() -> None:
    """Leaving a stage one SWITCH vote short is caught by ADAPT-S5 (or S2)."""
    machine = protocol_state_machine(model(3, 0, "bw", SmallerSwitchQuorum), PROPERTIES,
                                     "SmallerSwitchQuorumMachine")
    with pytest.raises(AssertionError, match="ADAPT-S"):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=200, stateful_step_count=20, deadline=None, database=None,
            suppress_health_check=list(HealthCheck)))
