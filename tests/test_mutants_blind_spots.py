"""Issue 11's blind spots: mutants the old checks (one size, a static adversary) let through, each
caught by the model checker at its own declared size, bounds and adversary, with its shortest
counterexample's length pinned; and the same mutant passing where the old checks looked.
"""

from __future__ import annotations

import pytest

from mabeam.api.registry import entries
from mabeam.api.verify import build_model
from mabeam.checker import CheckResult, check

# (protocol, mutant, property caught, shortest counterexample length, what the old check missed)
CAUGHT = [
    # one size per protocol: a quorum right at odd n / at n = 3f+1 only
    ("majority", "quorum-half-rounded-up", "MAJ-S5", 0, {"agents": 3}),
    ("pbft", "quorum-2f-plus-1", "PBFT-S2", 6, {"agents": 4}),
    # a static adversary: only a Dolev-Yao coalition relabels or recombines honest signatures
    ("pbft", "vote-signature-without-kind", "PBFT-S9", 3, {"adversary": "static"}),
    ("pbft", "certificate-digest-unchecked", "PBFT-S1", 6, {"adversary": "static"}),
]


def _check(protocol: str, mutant: str, **overrides: object) -> CheckResult:
    entry = entries()[protocol]
    return check(build_model(entry, mutant=mutant, **overrides), entry.properties)  # type: ignore[arg-type]


@pytest.mark.parametrize("protocol, mutant, prop, length, missed_by", CAUGHT, ids=lambda v: str(v))
def test_blind_spot_mutant_is_caught_with_a_shortest_trace(protocol: str, mutant: str, prop: str, length: int,
                                                           missed_by: dict[str, object]) -> None:
    declared = entries()[protocol].mutant(mutant)
    assert prop in declared.breaks
    found = _check(protocol, mutant).result_for(prop)
    assert found.status == "violated" and found.trace is not None and len(found.trace) == length


@pytest.mark.parametrize("protocol, mutant, prop, length, missed_by", CAUGHT, ids=lambda v: str(v))
def test_blind_spot_mutant_passes_where_the_old_check_looked(protocol: str, mutant: str, prop: str, length: int,
                                                            missed_by: dict[str, object]) -> None:
    """At the protocol's old single size, or against the static adversary, the mutant passes completely:
    the new size or adversary is what catches it."""
    entry = entries()[protocol]
    overrides = dict(missed_by)
    if "agents" in overrides:  # the old size with the protocol's default fault budget, no early stop
        overrides.update(faulty=entry.default_faulty, stop_on_violation=False)
    if "adversary" in overrides:
        overrides["stop_on_violation"] = False
    result = _check(protocol, mutant, **overrides)
    assert result.stats.complete and result.ok, [r.property.id for r in result.failures()]
