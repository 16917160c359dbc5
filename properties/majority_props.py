"""Hypothesis stateful suites for simple majority voting (spec: ``spec/majority.md``).

Long random runs over the same transition system the exhaustive checker uses,
for groups too large to exhaust (n = 5, 7), with every fault the crash model
allows: f < n/2 crashes, message loss and duplication budgets, and an intruder
injecting forged votes. After every step the safety properties MAJ-S1..MAJ-S5
are asserted; a failure shrinks to a short sequence of choices.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mabeam.api.verify import build_model
from mabeam.checker import ActorModel
from mabeam.checker.stateful import protocol_state_machine
from mabeam.core import Kind
from mabeam.protocols.majority import ENTRY

SAFETY_IDS = {"MAJ-S1", "MAJ-S2", "MAJ-S3", "MAJ-S4", "MAJ-S5"}


def _model(agents: int, faulty: int, drops: int, duplicates: int, mutant: str | None = None
           ) -> ActorModel:
    return build_model(ENTRY, agents, faulty, mutant=mutant, drops=drops, duplicates=duplicates,
                       intruder=True)


def _suite(agents: int, faulty: int, drops: int, duplicates: int, examples: int, steps: int) -> type:
    machine = protocol_state_machine(lambda: _model(agents, faulty, drops, duplicates), ENTRY.properties,
                                     name=f"Majority{agents}")
    machine.TestCase.settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    return machine


# f = (n-1)//2 crashes, the most the protocol tolerates, plus loss and duplication budgets
Majority3 = _suite(3, 1, drops=1, duplicates=2, examples=40, steps=25)
Majority5 = _suite(5, 2, drops=2, duplicates=2, examples=20, steps=40)
Majority7 = _suite(7, 3, drops=2, duplicates=2, examples=10, steps=50)

TestMajority3 = Majority3.TestCase
TestMajority5 = Majority5.TestCase
TestMajority7 = Majority7.TestCase


def test_the_suites_cover_the_safety_properties() -> None:
    """The machines assert every ALWAYS property of the entry, and those are MAJ-S1..S5."""
    assert {p.id for p in ENTRY.properties if p.kind is Kind.ALWAYS} == SAFETY_IDS


@pytest.mark.parametrize(("mutant", "agents", "faulty", "duplicates", "broken"), [
    ("quorum-off-by-one", 5, 2, 0, r"MAJ-S[125]"),
    ("double-count-revote", 3, 1, 2, r"MAJ-S[1245]"),
])
def test_a_mutant_makes_the_machine_fail(mutant: str, agents: int, faulty: int, duplicates: int,
                                         broken: str) -> None:
    """The suite is only trusted because it rejects a deliberately broken protocol."""
    machine = protocol_state_machine(lambda: _model(agents, faulty, 0, duplicates, mutant),
                                     ENTRY.properties, name=f"Mutant_{mutant.replace('-', '_')}")
    with pytest.raises(AssertionError, match=broken):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=300, stateful_step_count=30, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
