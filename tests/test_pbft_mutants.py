"""PBFT is checked exhaustively at n = 4, f = 1, and every mutant is caught with a counterexample.

Each check is complete (no depth bound): the figures are in spec/pbft.md, "Checked bounds".
"""

from __future__ import annotations

import pytest
from reduction_audit import audit

from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig, CheckResult, check
from mabeam.protocols.pbft import CHECKPOINT_BOUNDS, ENTRY, VIEW_CHANGE_BOUNDS, build_checked

#: PBFT-A2 reads the pre-prepare history only the exposure and catch-up bounds keep
SAFETY = [p.id for p in ENTRY.properties if p.kind.value == "always" and p.id != "PBFT-A2"]


def _mutant_check(name: str) -> CheckResult:
    return check(build_model(ENTRY, mutant=name), ENTRY.properties)


def _assert_caught(name: str, prop: str, length: int) -> None:
    result = _mutant_check(name)
    assert result.stats.complete
    found = result.result_for(prop)
    assert prop in ENTRY.mutant(name).breaks
    assert found.status == "violated" and found.trace is not None and len(found.trace) == length


# (mutant, property caught, length of the shortest counterexample); each check takes seconds
FAST = [
    ("quorum-2f", "PBFT-S1", 4),
    ("quorum-2f", "PBFT-S2", 2),
    ("new-view-without-proof", "PBFT-L3", 1),
    ("lowers-view", "PBFT-S8", 2),
    ("executes-twice", "PBFT-S6", 22),
    ("sticky-primary", "PBFT-L2", 1),
    ("joins-on-one-view-change", "PBFT-L3", 1),
    ("never-suspects", "PBFT-L1", 3),
    ("duplicate-is-equivocation", "PBFT-A1", 3),
    ("commit-without-prepared", "PBFT-S2", 2),
    ("no-catch-up", "PBFT-L1", 21),
]
# the same, on the full Byzantine adversary of the standard bounds (10-40 s each under load)
SLOWER = [
    ("no-equivocation-check", "PBFT-S2", 6),
    ("no-equivocation-check", "PBFT-A1", 5),
    ("checkpoint-f-plus-1", "PBFT-S7", 7),
    ("unchecked-request", "PBFT-S5", 8),
    ("certificate-unverified", "PBFT-S1", 2),
    ("primary-equivocation-ignored", "PBFT-A2", 2),
]


@pytest.mark.parametrize("mutant, prop, length", FAST)
def test_mutant_is_caught_with_a_shortest_trace(mutant: str, prop: str, length: int) -> None:
    _assert_caught(mutant, prop, length)


@pytest.mark.slow
@pytest.mark.parametrize("mutant, prop, length", SLOWER)
def test_mutant_on_the_full_adversary_is_caught(mutant: str, prop: str, length: int) -> None:
    _assert_caught(mutant, prop, length)


#: mutants whose broken space never closes: caught within their declared state budget (own test below)
BUDGETED = {"accepts-earlier-view", "forgets-on-crash"}  # forgets-on-crash: tests/test_pbft_recovery.py
#: caught at their own size or adversary, pinned in tests/test_mutants_blind_spots.py
BLIND_SPOTS = {"quorum-2f-plus-1", "vote-signature-without-kind", "certificate-digest-unchecked"}
#: linear communication, pinned in tests/test_pbft_linear.py
LINEAR = {"collector-omits-own-commit", "bundled-votes-unverified"}


def test_every_mutant_is_listed_here() -> None:
    assert {m for m, _, _ in FAST + SLOWER} | BUDGETED | BLIND_SPOTS | LINEAR == {m.name for m in ENTRY.mutants}


def test_view_change_configuration_is_exhaustively_safe_and_live() -> None:
    """Silent Byzantine view-0 primary, max_view 1: every honest replica times out, a1 starts view 1."""
    model = ActorModel(build_checked(4, 1, **VIEW_CHANGE_BOUNDS),
                       CheckConfig(network="duplicating", byzantine=frozenset({"a0"})))
    result = check(model, ENTRY.properties)
    assert result.stats.complete
    statuses = {r.property.id: r.status for r in result.results}
    assert all(statuses[pid] == "holds" for pid in SAFETY)
    assert statuses["PBFT-L1"] == "holds" and statuses["PBFT-R2"] == "reached"
    assert statuses["PBFT-R1"] == "reached"


def test_standard_configuration_is_exhaustively_safe() -> None:
    """n = 4, f = 1, the Byzantine view-0 primary may send anything it can sign (the registry's default)."""
    result = check(build_model(ENTRY, 4, 1), ENTRY.properties)
    assert result.stats.complete
    statuses = {r.property.id: r.status for r in result.results}
    assert all(statuses[pid] == "holds" for pid in SAFETY)
    assert statuses["PBFT-R1"] == "reached" and statuses["PBFT-R3"] == "reached"
    assert statuses["PBFT-R4"] == "reached"  # a replica left behind by the primary catches up
    assert statuses["PBFT-L1"] == "holds"  # vacuously here: the only view's primary is Byzantine


def _with_checkpoints(byzantine: str, **bounds: object) -> CheckResult:
    model = ActorModel(build_checked(4, 1, **{**CHECKPOINT_BOUNDS, **bounds}),
                       CheckConfig(network="duplicating", byzantine=frozenset({byzantine})))
    return check(model, ENTRY.properties)


def test_checkpoints_with_an_honest_primary_are_exhaustively_safe() -> None:
    """A checkpoint becomes stable and the log is collected (PBFT-S7 is not vacuous)."""
    result = _with_checkpoints("a3", adversary="silent")
    assert result.stats.complete
    assert all(result.result_for(pid).status == "holds" for pid in SAFETY)


@pytest.mark.slow
def test_checkpoints_with_the_full_byzantine_primary_are_exhaustively_safe() -> None:
    """The standard adversary plus a checkpoint after the request: about 1.2 million states."""
    result = _with_checkpoints("a0")
    assert result.stats.complete
    assert all(result.result_for(pid).status == "holds" for pid in SAFETY)


def test_a_replayed_earlier_view_message_is_caught_within_its_budget() -> None:
    """The broken space never closes (stale messages keep changing old slots), so the mutant declares a
    state budget; breadth-first search still returns a shortest counterexample inside it."""
    result = _mutant_check("accepts-earlier-view")
    found = result.result_for("PBFT-S3")
    assert not result.stats.complete and result.stats.bound
    assert found.status == "violated" and found.trace is not None and len(found.trace) == 14
    assert any(step.action is not None and step.action.kind == "deliver"
               and getattr(step.action.detail.message, "view", None) == 0 for step in found.trace.steps[12:])


@pytest.mark.slow
def test_the_replayed_view_configuration_is_safe_and_live_for_the_correct_replica() -> None:
    from mabeam.protocols.pbft.mutants import REPLAYED_VIEW

    model = ActorModel(build_checked(4, 1, **REPLAYED_VIEW),
                       CheckConfig(network="duplicating", byzantine=frozenset({"a3"})))
    result = check(model, ENTRY.properties)
    assert result.stats.complete and result.stats.distinct_states > 40_000
    for pid in SAFETY + ["PBFT-L1"]:
        assert result.result_for(pid).status == "holds", pid


#: the checks small enough to audit in the fast tier (the others hold 55,000 to 280,000 worlds)
AUDITED = [None, "quorum-2f", "new-view-without-proof", "commit-without-prepared", "executes-twice", "sticky-primary",
           "joins-on-one-view-change", "never-suspects", "no-catch-up", "duplicate-is-equivocation"]


@pytest.mark.parametrize("mutant", AUDITED, ids=lambda m: m or "standard")
def test_every_property_reads_only_what_it_declares(mutant: str | None) -> None:
    """``reads`` audited on every reachable world (``tests/reduction_audit.py``): the verdict memo and
    partial-order reduction rely on it. PBFT declares no silent state and no symmetry."""
    worlds, silent, generators = audit(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    assert worlds > 0 and silent == 0 and generators == 0
