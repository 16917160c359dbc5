"""The properties of weighted voting (IDs as in ``spec/weighted.md``).

The predicates recompute weights from the configuration with Fractions,
independently of the state machine's own counting, so a counting bug in the
machine cannot hide itself from the check.
"""

from __future__ import annotations

from ...core import Snapshot, always, eventually, sometimes
from ...core.properties import agreement_holds, integrity_holds
from .config import BYZANTINE_THRESHOLD
from .machine import WeightedState, WeightedVoting


def _protocol(snap: Snapshot) -> WeightedVoting:
    protocol = snap.protocol
    assert isinstance(protocol, WeightedVoting)
    return protocol


def _honest_states(snap: Snapshot) -> list[WeightedState]:
    return [s for a, s in snap.states.items() if a not in snap.byzantine and s is not None]


@always("WV-S1", "Agreement")
def agreement(snap: Snapshot) -> bool:
    """No two honest agents decide different values."""
    return agreement_holds(snap)


@always("WV-S2", "Validity")
def validity(snap: Snapshot) -> bool:
    """A value decided by an honest agent is the input of honest agents holding more than
    threshold x total - Byzantine weight (> 0, so in particular of some honest agent)."""
    protocol = _protocol(snap)
    byzantine_weight = protocol.weight_of(snap.byzantine)
    for d in snap.honest_decisions():
        holders = [a for a in snap.honest if protocol.inputs[a] == d.value]
        if protocol.weight_of(holders) <= protocol.quorum_weight - byzantine_weight:
            return False
    return True


@always("WV-S3", "Integrity")
def integrity(snap: Snapshot) -> bool:
    """An honest agent decides at most once and never changes its decision."""
    return integrity_holds(snap)


@always("WV-S4", "One counted vote per member")
def one_counted_vote_per_member(snap: Snapshot) -> bool:
    """Every honest tally counts at most one vote per voter, only members' votes, and never a
    vote it refused as conflicting (the first vote stays counted)."""
    members = snap.protocol.membership
    for state in _honest_states(snap):
        voters = [voter for voter, _ in state.tally]
        if len(voters) != len(set(voters)) or any(v not in members for v in voters):
            return False
        if state.tally & state.refused:
            return False
    return True


@always("WV-S5", "Decision backed by weight")
def decision_backed(snap: Snapshot) -> bool:
    """An honest agent that decided v counted votes for v from members holding more than
    threshold x total weight (in Byzantine mode, more than 2/3 of it)."""
    protocol = _protocol(snap)
    floor = protocol.quorum_weight
    if protocol.mode == "byzantine":
        floor = max(floor, BYZANTINE_THRESHOLD * protocol.total_weight)
    for state in _honest_states(snap):
        if state.decided is None:
            continue
        voters = {voter for voter, v in state.tally if v == state.decided and voter in protocol.membership}
        if protocol.weight_of(voters) <= floor:
            return False
    return True


@sometimes("WV-R1", "Some agent decides")
def someone_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration can reach a decision."""
    return bool(snap.honest_decisions())


@eventually("WV-L1", "Termination")
def termination(snap: Snapshot) -> bool:
    """If the correct honest agents whose input is v hold more than threshold x total weight,
    every correct honest agent decides."""
    protocol = _protocol(snap)
    correct = snap.correct
    if not any(protocol.weight_of(a for a in correct if protocol.inputs[a] == value) > protocol.quorum_weight
               for value in protocol.candidates):
        return True  # precondition false: nothing is promised
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in correct)


PROPERTIES = (agreement, validity, integrity, one_counted_vote_per_member, decision_backed,
              someone_decides, termination)
