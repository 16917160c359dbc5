"""The properties of simple majority voting (IDs as in ``spec/majority.md``).

The predicates recount votes from the node states and the configured inputs,
independently of the machine's per-value ``support``, so a counting bug cannot
hide itself from the check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from ...core import Snapshot, always, eventually, sometimes
from ...core.properties import agreement_holds, integrity_holds

if TYPE_CHECKING:
    from .machine import MajorityVoting


def _protocol(snap: Snapshot) -> MajorityVoting:
    return cast("MajorityVoting", snap.protocol)


@always("MAJ-S1", "Agreement", reads=("decisions",))
def agreement(snap: Snapshot) -> bool:
    """No two agents decide different values."""
    return agreement_holds(snap)


@always("MAJ-S2", "Validity", reads=("decisions",))
def validity(snap: Snapshot) -> bool:
    """A decided value is the input of more than n/2 members."""
    protocol = _protocol(snap)
    holders: dict[str, int] = {}
    for value in protocol.inputs.values():
        holders[value] = holders.get(value, 0) + 1
    return all(2 * holders.get(d.value, 0) > protocol.n for d in snap.decisions)


@always("MAJ-S3", "Integrity", reads=("decisions",))
def integrity(snap: Snapshot) -> bool:
    """An agent decides at most once and never changes its decision."""
    return integrity_holds(snap)


@always("MAJ-S4", "One vote per member", reads=("states",))
def one_vote_per_member(snap: Snapshot) -> bool:
    """Every count is backed by distinct members' votes: at most one vote per member, no outsiders."""
    for state in snap.states.values():
        if state is None:
            continue
        recorded: dict[str, int] = {}
        for value in state.votes:
            if value is not None:
                recorded[value] = recorded.get(value, 0) + 1
        if dict(state.support) != recorded:
            return False
    return True


@always("MAJ-S5", "Decision backed by a majority", reads=("states",))
def decision_backed(snap: Snapshot) -> bool:
    """An agent that decided v has counted votes for v from a strict majority of members."""
    protocol = snap.protocol
    for state in snap.states.values():
        if state is None or state.decided is None:
            continue
        voters = sum(1 for v in state.votes if v == state.decided)
        if 2 * voters <= protocol.n:
            return False
    return True


@sometimes("MAJ-R1", "Some agent decides", reads=("decisions",))
def someone_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration can reach a decision."""
    return bool(snap.decisions)


@eventually("MAJ-L1", "Termination", reads=("states", "crashed"))
def termination(snap: Snapshot) -> bool:
    """If the correct agents hold a strict majority for one value, every correct agent decides."""
    protocol = _protocol(snap)
    correct = snap.correct
    counts: dict[str, int] = {}
    for a in correct:
        counts[protocol.inputs[a]] = counts.get(protocol.inputs[a], 0) + 1
    if not any(2 * c > protocol.n for c in counts.values()):
        return True  # precondition false: nothing is promised
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in correct)


PROPERTIES = (agreement, validity, integrity, one_vote_per_member, decision_backed, someone_decides,
              termination)
