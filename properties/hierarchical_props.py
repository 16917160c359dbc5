"""Hypothesis stateful suites for the hierarchical protocol (HIER-S1 .. HIER-S5, spec/hierarchical.md).

Long random runs over hierarchies larger than the exhaustive check covers (groups
of 7 with f_g = 2, a group over its bound, three judges) on a lossy, duplicating
multiset network with crashes, asserting the same invariant functions after every
step. The last test shows the suite can fail: a mutant is caught.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mabeam.checker import ActorModel, CheckConfig
from mabeam.checker.stateful import protocol_state_machine
from mabeam.core import Kind
from mabeam.protocols.hierarchical import PROPERTIES, Hierarchical, build, faults_above, make_group
from mabeam.protocols.hierarchical.mutants import AcceptAlteredValue

SAFETY_IDS = {"HIER-S1", "HIER-S2", "HIER-S3", "HIER-S4", "HIER-S5"}


def large_hierarchy(cls: type[Hierarchical] = Hierarchical) -> tuple[Hierarchical, frozenset[str]]:
    """g0: 7 members, f=2 (2 Byzantine, its representative among them, two honest deputies);
    g1, g2: single agents; g3: 4 members with 2 Byzantine (over its bound). G = 4, F = 1, T = 3;
    3 judges."""
    g0 = make_group("g0", [f"a{i}" for i in range(7)], 2, ["a6", "a0", "a1"])
    g1 = make_group("g1", ["b0"], 0)
    g2 = make_group("g2", ["c0"], 0)
    g3 = make_group("g3", [f"d{i}" for i in range(4)], 1)
    inputs = {**{f"a{i}": "x" if i != 4 else "y" for i in range(7)},
              "b0": "x", "c0": "x", "d0": "x", "d1": "y", "d2": "z", "d3": "y"}
    byzantine = frozenset({"a5", "a6", "d2", "d3"})
    groups = (g0, g1, g2, g3)
    protocol = cls(groups, ("j0", "j1", "j2"), inputs, faulty_groups=faults_above(groups, byzantine))
    return protocol, byzantine


def model(cls: type[Hierarchical] = Hierarchical, *, drops: int = 0, duplicates: int = 0,
          crashes: int = 0) -> Callable[[], ActorModel]:
    def make() -> ActorModel:
        protocol, byzantine = large_hierarchy(cls)
        return ActorModel(protocol, CheckConfig(network="multiset", byzantine=byzantine, drops=drops,
                                                duplicates=duplicates, max_crashes=crashes, intruder=True))
    return make


def test_the_suite_asserts_every_safety_property() -> None:
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == SAFETY_IDS


def test_the_large_hierarchy_is_within_its_bounds() -> None:
    protocol, _byzantine = large_hierarchy()
    assert protocol.faulty_groups == 1 and protocol.threshold == 3
    assert [g.quorum for g in protocol.groups] == [5, 1, 1, 3]


CRASHING = protocol_state_machine(model(crashes=1), PROPERTIES, "HierarchicalCrashing")
CRASHING.TestCase.settings = settings(
    max_examples=6, stateful_step_count=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TestHierarchicalCrashing = CRASHING.TestCase


def test_the_suite_catches_a_mutant() -> None:
    """A judge that does not check what the signatures sign accepts an altered group result
    (on the small layout, where the altered certificate is one of a few messages in flight)."""
    def make() -> ActorModel:
        protocol = build(6, 1, AcceptAlteredValue)
        return ActorModel(protocol, CheckConfig(network="multiset", byzantine=frozenset({"a3"}), duplicates=1))
    machine = protocol_state_machine(make, PROPERTIES, "AlteredValueMachine")
    with pytest.raises(AssertionError, match="HIER-S"):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=100, stateful_step_count=15, deadline=None, database=None, derandomize=True,
            phases=(Phase.generate,), suppress_health_check=list(HealthCheck)))
