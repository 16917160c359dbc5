"""PBFT mutants are caught by the checker with a shortest counterexample (depth-bounded BFS)."""

from __future__ import annotations

import pytest

from mabeam.verify import check_protocol

# (mutant, property caught, BFS depth bound, length of the shortest counterexample)
CAUGHT = [
    ("commit-without-prepared", "PBFT-S2", 2, 2),
    ("new-view-without-proof", "PBFT-L3", 2, 1),
    ("quorum-2f", "PBFT-S2", 3, 2),
]


@pytest.mark.parametrize("mutant, prop, depth, length", CAUGHT)
def test_mutant_is_caught_with_a_shortest_trace(mutant: str, prop: str, depth: int, length: int) -> None:
    result = check_protocol("pbft", mutant=mutant, depth=depth)
    found = result.result_for(prop)
    assert found.status == "violated" and len(found.trace) == length


@pytest.mark.slow
@pytest.mark.parametrize("mutant, prop, length", [
    ("quorum-2f", "PBFT-S1", 4), ("lowers-view", "PBFT-S8", 5), ("replay-earlier-view", "PBFT-A1", 6),
])
def test_deeper_mutants_are_caught(mutant: str, prop: str, length: int) -> None:
    found = check_protocol("pbft", mutant=mutant, depth=length).result_for(prop)
    assert found.status == "violated" and len(found.trace) == length


def test_correct_protocol_has_no_violation_within_the_bound() -> None:
    result = check_protocol("pbft", depth=3)
    assert not result.stats.complete
    assert all(r.status != "violated" for r in result.results)
