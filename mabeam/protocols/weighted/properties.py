"""The properties of weighted voting (IDs as in ``spec/weighted.md``).

The predicates recompute weights from the configuration (``protocol.weights``),
independently of the state machine's own units and per-value support, so a
counting bug in the machine cannot hide itself from the check. They run at
every live-monitor check, so each costs O(n) per node state, in integers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from itertools import compress, repeat
from operator import eq
from typing import TYPE_CHECKING, Any, cast

from ...core import AgentId, Snapshot, always, eventually, sometimes
from ...core.properties import agreement_holds, always_step, integrity_holds
from .config import BYZANTINE_THRESHOLD
from .state import WeightedState

if TYPE_CHECKING:
    from .machine import WeightedVoting


def _protocol(snap: Snapshot) -> WeightedVoting:
    return cast("WeightedVoting", snap.protocol)


def _honest_states(snap: Snapshot) -> list[WeightedState]:
    return [s for a, s in snap.states.items() if a not in snap.byzantine and s is not None]


class _ConfiguredWeights:
    """The configured weights as integers over their common denominator, rebuilt from
    ``protocol.weights`` for each check (O(n); nothing is cached on the protocol)."""

    def __init__(self, protocol: WeightedVoting) -> None:
        self.denominator = math.lcm(*(w.denominator for w in protocol.weights.values()))
        self.by_agent = {a: w.numerator * (self.denominator // w.denominator)
                         for a, w in protocol.weights.items()}
        self.by_position = [self.by_agent[a] for a in protocol.agents]

    def of(self, agents: Iterable[AgentId]) -> Fraction:
        return Fraction(sum(self.by_agent[a] for a in set(agents)), self.denominator)

    def of_voters(self, state: WeightedState, value: str) -> int:
        """Units (over ``denominator``) of the members whose recorded vote in ``state`` is ``value``."""
        return sum(compress(self.by_position, map(eq, state.votes, repeat(value))))


@always("WV-S1", "Agreement", reads=("decisions",))
def agreement(snap: Snapshot) -> bool:
    """No two honest agents decide different values."""
    return agreement_holds(snap)


@always("WV-S2", "Validity", reads=("decisions",))
def validity(snap: Snapshot) -> bool:
    """A value decided by an honest agent is the input of honest agents holding more than
    threshold x total - Byzantine weight (> 0, so in particular of some honest agent)."""
    protocol = _protocol(snap)
    weights = _ConfiguredWeights(protocol)
    bar = protocol.quorum_weight - weights.of(snap.byzantine)
    honest = snap.honest
    for value in {d.value for d in snap.honest_decisions()}:
        if weights.of(a for a in honest if protocol.inputs[a] == value) <= bar:
            return False
    return True


@always("WV-S3", "Integrity", reads=("decisions",))
def integrity(snap: Snapshot) -> bool:
    """An honest agent decides at most once and never changes its decision."""
    return integrity_holds(snap)


@always("WV-S4", "One counted vote per member", reads=("states",))
def one_counted_vote_per_member(snap: Snapshot) -> bool:
    """Every honest node records at most one vote per member and credits only members' votes:
    the weight it credits each value is exactly the configured weight of the members whose
    recorded vote is that value (a re-vote or an outsider adds nothing), and it never
    records a vote it refused as conflicting (the first vote stays counted)."""
    protocol = _protocol(snap)
    members = protocol.membership
    weights = _ConfiguredWeights(protocol)
    for state in _honest_states(snap):
        if len(state.votes) != len(members):
            return False
        voters = 0
        for value, units in state.support:
            count = state.votes.count(value)
            # the machine's weight units / unit_scale must equal the configured of_voters / denominator
            configured = weights.of_voters(state, value)
            if count == 0 or units * weights.denominator != configured * protocol.unit_scale:
                return False
            voters += count
        if voters != len(members) - state.votes.count(None):
            return False  # a recorded vote whose value is credited nothing
        if any(agent not in members or state.votes[members.index(agent)] == value
               for agent, value in state.refused):
            return False
    return True


@always("WV-S5", "Decision backed by weight", reads=("states",))
def decision_backed(snap: Snapshot) -> bool:
    """An honest agent that decided v counted votes for v from members holding more than
    threshold x total weight (in Byzantine mode, more than 2/3 of it)."""
    protocol = _protocol(snap)
    floor = protocol.quorum_weight
    if protocol.mode == "byzantine":
        floor = max(floor, BYZANTINE_THRESHOLD * protocol.total_weight)
    weights = _ConfiguredWeights(protocol)
    for state in _honest_states(snap):
        if state.decided is None:
            continue
        backing = weights.of_voters(state, state.decided)
        if backing * floor.denominator <= floor.numerator * weights.denominator:
            return False
    return True


@always_step("WV-T1", "A counted vote is never revised", reads=("states",))
def counted_vote_kept(before: Snapshot, action: Any, after: Snapshot) -> bool:
    """No step of an honest node changes a vote it has counted: once ``votes[i]`` holds member
    ``i``'s vote, it keeps that value (a later, conflicting vote is evidence, never a replacement).

    A single state cannot say this: it shows which vote is counted now, not which came
    first. WV-S4 says it only through the node's own record of refused votes, which a
    node that silently takes the latest vote never writes.
    """
    for agent, state in after.states.items():
        old = before.states.get(agent)
        if agent in after.byzantine or state is None or old is None or old.votes == state.votes:
            continue
        if any(was is not None and was != now for was, now in zip(old.votes, state.votes)):
            return False
    return True


@sometimes("WV-R1", "Some agent decides", reads=("decisions",))
def someone_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration can reach a decision."""
    return bool(snap.honest_decisions())


@eventually("WV-L1", "Termination", reads=("states", "crashed"))
def termination(snap: Snapshot) -> bool:
    """If the correct honest agents whose input is v hold more than threshold x total weight,
    every correct honest agent decides."""
    protocol = _protocol(snap)
    weights = _ConfiguredWeights(protocol)
    correct = snap.correct
    if not any(weights.of(a for a in correct if protocol.inputs[a] == value) > protocol.quorum_weight
               for value in protocol.candidates):
        return True  # precondition false: nothing is promised
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in correct)


PROPERTIES = (agreement, validity, integrity, one_counted_vote_per_member, decision_backed,
              counted_vote_kept, someone_decides, termination)
