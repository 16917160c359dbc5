"""PBFT with linear communication (spec/pbft.md, "Linear communication"): correctness, not speed."""

from __future__ import annotations

from typing import Any

import pytest

from mabeam.api.session import start_byzantine_consensus
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.core import Broadcast, ConfigurationError, Defer, Reject, Send
from mabeam.protocols.pbft import ENTRY, PBFTReplica, build, build_checked, conflicting
from mabeam.protocols.pbft.messages import Commit, Prepare, VoteBundle

SAFETY = [p.id for p in ENTRY.properties if p.kind.value == "always" and p.id != "PBFT-A2"]


def _linear(n: int = 4, **bounds: Any) -> PBFTReplica:
    return build(n, 1, communication="linear", **{"max_view": 0, **bounds})


def _prepared_at(r: PBFTReplica, agent: str) -> tuple[Any, list[Prepare]]:
    """``agent``'s state after the primary's pre-prepare, and every backup's prepare."""
    primary = r.agents[0]
    pp = next(e.message for e in r.start(primary).effects if isinstance(e, Broadcast))
    state = r.start(agent).state
    state = r.receive(agent, state, pp).state
    prepares = []
    for backup in r.agents[1:]:
        own = r.receive(backup, r.start(backup).state, pp)
        prepares += [e.message for e in own.effects if isinstance(e, Send)]
    return state, prepares


def _bundle(r: PBFTReplica, votes: list[Any], sender: str = "a0") -> VoteBundle:
    return r.signer(sender).sign(VoteBundle(session=r.session, sender=sender, view=votes[0].view,
                                            seq=votes[0].seq, votes=tuple(sorted(votes, key=lambda v: v.sender))))


def test_communication_must_be_a_known_mode() -> None:
    with pytest.raises(ConfigurationError, match="communication"):
        build(4, 1, communication="gossip")


def test_a_backup_sends_its_prepare_to_the_primary_only() -> None:
    r = _linear()
    _, prepares = _prepared_at(r, "a1")
    assert len(prepares) == 3 and all(isinstance(p, Prepare) for p in prepares)
    pp = next(e.message for e in r.start("a0").effects if isinstance(e, Broadcast))
    effects = r.receive("a2", r.start("a2").state, pp).effects
    assert [type(e).__name__ for e in effects if isinstance(e, (Send, Broadcast))] == ["Send"]
    assert next(e for e in effects if isinstance(e, Send)).to == "a0"


def test_the_primary_relays_each_phase_in_one_bundle_and_everyone_decides() -> None:
    result = start_byzantine_consensus("launch", 7, driver="simulator", communication="linear", seed=3)
    assert result.status == "decided" and not result.violations()
    assert {d.value for ds in result.decisions.values() for d in ds} == {"launch"}
    all_to_all = start_byzantine_consensus("launch", 7, driver="simulator", seed=3)
    assert result.messages.sent < all_to_all.messages.sent


def test_a_bundle_reaches_the_state_its_votes_reach_one_by_one() -> None:
    """Why forwarding covers bundles in the Dolev-Yao adversary (adversary.py)."""
    r = _linear(7)
    state, prepares = _prepared_at(r, "a1")
    others = [p for p in prepares if p.sender != "a1"]
    one_by_one, effects = state, []
    for p in others:
        step = r.receive("a1", one_by_one, p)
        one_by_one = step.state
        effects += [e for e in step.effects if not isinstance(e, Reject)]
    bundled = r.receive("a1", state, _bundle(r, others))
    assert bundled.state == one_by_one and one_by_one.slots[0].prepared
    assert [e for e in bundled.effects if not isinstance(e, Reject)] == effects


def test_a_forged_vote_in_a_bundle_is_refused_and_the_rest_counted() -> None:
    r = _linear()
    state, prepares = _prepared_at(r, "a1")
    forged = prepares[1].replace(signature=b"\x00" * 16)
    step = r.receive("a1", state, _bundle(r, [forged, prepares[2]]))
    assert Reject("bad-signature", forged) in step.effects
    assert [p.sender for p in step.state.slots[0].prepares] == ["a1", "a3"]


def test_a_malformed_bundle_is_refused_whole() -> None:
    r = _linear()
    state, prepares = _prepared_at(r, "a1")
    commit = r.signer("a2").sign(Commit(session=r.session, sender="a2", view=0, seq=1, digest=prepares[0].digest))
    mixed = r.signer("a0").sign(VoteBundle(session=r.session, sender="a0", view=0, seq=1,
                                           votes=(prepares[1], commit)))
    unsorted = r.signer("a0").sign(VoteBundle(session=r.session, sender="a0", view=0, seq=1,
                                              votes=(prepares[2], prepares[1])))
    empty = r.signer("a0").sign(VoteBundle(session=r.session, sender="a0", view=0, seq=1, votes=()))
    for bad in (mixed, unsorted, empty):
        step = r.receive("a1", state, bad)
        assert step.state == state and Reject("bad-bundle", bad) in step.effects


def test_commits_before_the_slot_is_prepared_defer_the_whole_bundle() -> None:
    r = _linear()
    state, prepares = _prepared_at(r, "a1")
    commit = r.signer("a2").sign(Commit(session=r.session, sender="a2", view=0, seq=1, digest=prepares[0].digest))
    bundle = _bundle(r, [commit])
    step = r.receive("a1", state, bundle)
    assert step.state == state and step.effects == (Defer(bundle),)


def test_two_bundles_of_one_primary_are_not_equivocation() -> None:
    r = _linear()
    _, prepares = _prepared_at(r, "a1")
    assert not conflicting(_bundle(r, prepares[:2]), _bundle(r, prepares[1:]))


def test_an_honest_primary_with_a_byzantine_backup_is_exhaustively_safe_and_live() -> None:
    model = build_model(ENTRY, 4, 1, factory=lambda n, f: build_checked(n, f, communication="linear"),
                        byzantine=frozenset({"a3"}))
    result = check(model, ENTRY.properties)
    verdicts = {r.property.id: r.status for r in result.results}
    assert result.stats.complete and all(verdicts[pid] == "holds" for pid in SAFETY), verdicts
    assert verdicts["PBFT-L1"] == "holds" and verdicts["PBFT-R1"] == verdicts["PBFT-R3"] == "reached"
    assert result.stats.distinct_states == 2_110  # spec/pbft.md, "Linear communication"


@pytest.mark.parametrize(("mutant", "prop", "length"), [
    ("collector-omits-own-commit", "PBFT-L1", 20),
    ("bundled-votes-unverified", "PBFT-S1", 6),
])
def test_the_linear_mutants_are_caught_by_the_checker(mutant: str, prop: str, length: int) -> None:
    result = check(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    found = result.result_for(prop)
    assert result.stats.complete and prop in ENTRY.mutant(mutant).breaks
    assert found.status == "violated" and found.trace is not None and len(found.trace) == length


@pytest.mark.parametrize("attack", ["equivocating", "forging", "silent"])
def test_a_byzantine_collector_only_delays_linear_mode_on_the_live_runtime(attack: str) -> None:
    """The view-0 primary (the collector) attacks; the honest replicas change view and decide."""
    result = start_byzantine_consensus("launch", 7, driver="runtime", communication="linear",
                                       byzantine={"a0": attack}, timeout=30.0, seed=1, view_timeout=0.2)
    assert result.status == "decided" and not result.violations()
    honest = [a for a in result.decisions if a not in result.byzantine]
    assert len(honest) == 6 and {d.value for a in honest for d in result.decisions[a]} == {"launch"}
