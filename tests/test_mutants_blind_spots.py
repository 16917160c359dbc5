"""Issue 11's blind spots: mutants the old checks (one size, a static adversary) let through, each
caught by the model checker at its own declared size, bounds and adversary, with its shortest
counterexample's length pinned; and the same mutant passing where the old checks looked.
"""

from __future__ import annotations

import pytest

from mabeam.api.registry import all_mutants, entries
from mabeam.api.verify import build_model
from mabeam.checker import CheckResult, check
from mabeam.protocols.adaptive import build as adaptive_chain
from mabeam.protocols.adaptive import lock_order_configuration
from mabeam.protocols.pbft import PBFTReplica
from mabeam.protocols.pbft.config import VIEW_CHANGE_BOUNDS, build_checked

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


@pytest.mark.parametrize("protocol", ["pbft", "adaptive"])
def test_deep_mutants_are_found_by_name_and_left_out_of_every_mutant_runs(protocol: str) -> None:
    entry = entries()[protocol]
    assert entry.deep_mutants
    for deep in entry.deep_mutants:
        assert entry.mutant(deep.name) is deep and deep not in entry.mutants
        assert deep.name not in {m.name for m in all_mutants()}


# a thin view-change path: the old check had one view change with a silent view-0 primary, never a Byzantine
# new primary; this one is caught only after a long search (DEEP_MUTANTS, kept out of every-mutant runs)
_NEW_VIEW_UNCHECKED = entries()["pbft"].mutant("new-view-reproposals-unchecked")


@pytest.mark.slow
def test_a_new_view_with_unchecked_reproposals_is_caught_by_the_exhaustive_search() -> None:
    """View 0 commits x at an honest replica; the Byzantine primary of view 1 collects the VIEW-CHANGEs that
    carry x's prepared certificate and sends a NEW-VIEW re-proposing the null request: receivers that do not
    recompute the re-proposals prepare it (PBFT-S4), at the 12th step (about 3.7M states, 7 minutes, 9 GB)."""
    entry = entries()["pbft"]
    model = build_model(entry, 4, 1, factory=_NEW_VIEW_UNCHECKED.factory, max_memory=14 * 2**30,
                        **_NEW_VIEW_UNCHECKED.check_overrides)
    found = check(model, entry.properties).result_for("PBFT-S4")
    assert found.status == "violated" and found.trace is not None and len(found.trace) == 12


def test_a_new_view_with_unchecked_reproposals_passes_the_old_view_change_check() -> None:
    """Where the old check looked (a silent view-0 primary, one view change, the static adversary) it passes."""
    entry = entries()["pbft"]
    verdicts = {}
    for machine in (_NEW_VIEW_UNCHECKED.machine, PBFTReplica):  # the same verdicts as the correct replica's
        model = build_model(entry, 4, 1, factory=lambda n, f, m=machine: build_checked(n, f, m, **VIEW_CHANGE_BOUNDS))
        result = check(model, entry.properties)
        assert result.stats.complete
        verdicts[machine] = {r.property.id: r.status for r in result.results}
    assert verdicts[_NEW_VIEW_UNCHECKED.machine] == verdicts[PBFTReplica]
    assert all(status != "violated" for status in verdicts[PBFTReplica].values())


# three adaptive stages: the old check had them only without a Byzantine member, where no lock-ordering bug can
# show (an honest member votes its input unless a lock forces it); a Dolev-Yao member assembles the second lock
_LOWEST_LOCK = entries()["adaptive"].mutant("carries-lowest-lock")


@pytest.mark.slow
def test_carrying_the_lowest_lock_is_caught_with_three_stages_and_a_dolev_yao_member() -> None:
    """a2 assembles a lock on x in stage 0 from a0's vote and its own and shows it to a0 only; a0 and a1 leave
    stage 0 without it, a1 locks y in stage 1 with a2's vote and leaves, reporting that lock; a0 carries the
    lower lock, x, into stage 2 and decides x there with a2, while a2's DECIDED for y in stage 1 makes a1
    decide y (ADAPT-S2), at the 8th step (about 1.6M states, a minute, 2.7 GB)."""
    entry = entries()["adaptive"]
    model = build_model(entry, 3, 1, factory=_LOWEST_LOCK.factory, **_LOWEST_LOCK.check_overrides)
    found = check(model, entry.properties).result_for("ADAPT-S2")
    assert found.status == "violated" and found.trace is not None and len(found.trace) == 8


@pytest.mark.slow
def test_the_correct_chain_has_no_violation_where_the_lowest_lock_mutant_fails() -> None:
    """The same configuration and adversary, the honest machine: every level to depth 9 explored, no violation
    (the whole space is over 5.5M states at depth 10, past an 8 GiB budget)."""
    entry = entries()["adaptive"]
    model = build_model(entry, 3, 1, factory=lambda n, f: lock_order_configuration(), depth=9,
                        adversary="dolev-yao", max_memory=8 * 2**30)
    result = check(model, entry.properties)
    assert result.stats.depth == 9 and result.stats.bound == "depth 9", result.stats.bound
    assert not [r.property.id for r in result.results if r.status == "violated"]


@pytest.mark.slow
def test_carrying_the_lowest_lock_passes_the_old_three_stage_check() -> None:
    """Three stages without a Byzantine member (the sweep's exhaustive b -> w -> m point, 976,940 states):
    the mutant passes the whole space."""
    entry = entries()["adaptive"]
    model = build_model(entry, 3, 0, factory=lambda n, f: adaptive_chain(n, f, _LOWEST_LOCK.machine, kinds="bwm"),
                        max_memory=5 * 2**30, max_seconds=600.0)
    result = check(model, entry.properties)
    assert result.stats.complete and not [r.property.id for r in result.results if r.status == "violated"]
