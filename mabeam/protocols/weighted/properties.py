"""The properties of weighted voting (IDs as in ``spec/weighted.md``).

The predicates recompute weights from the configuration (``protocol.weights``),
independently of the state machine's own units and per-value support, so a
counting bug in the machine cannot hide itself from the check. They run at
every live-monitor check, so each costs O(n) per node state, in integers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from fractions import Fraction
from itertools import compress, repeat
from operator import eq, ne
from typing import TYPE_CHECKING, Any, cast

from ...core import AgentId, Snapshot, always, eventually, sometimes
from ...core.properties import agreement_holds, always_step, changed_agents, integrity_holds
from .config import BYZANTINE_THRESHOLD
from .messages import Certificate, SignedVote
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
    for agent in changed_agents(before.states, after.states):
        state, old = after.states[agent], before.states.get(agent)
        if agent in after.byzantine or state is None or old is None or old.votes == state.votes:
            continue
        # the values now at the positions that held a vote, against those votes (C-level: values are
        # non-empty strings, so "held a vote" is truthiness)
        if len(state.votes) != len(old.votes) or any(map(ne, compress(state.votes, old.votes),
                                                         filter(None, old.votes))):
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
    if _is_linear(protocol) and protocol.collector not in correct:  # type: ignore[attr-defined]
        return True  # linear mode promises nothing without a correct collector (spec/weighted.md)
    if not any(weights.of(a for a in correct if protocol.inputs[a] == value) > protocol.quorum_weight
               for value in protocol.candidates):
        return True  # precondition false: nothing is promised
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in correct)


# ------------------------------------------------------------------ linear mode
def _is_linear(protocol: object) -> bool:
    return getattr(protocol, "communication", "all-to-all") == "linear"


def _honest_sent(snap: Snapshot) -> list[Any]:
    honest = snap.honest
    return [e for e in snap.in_flight if e.message.sender in honest]


@always("WV-C1", "Linear communication", reads=("in_flight",))
def linear_communication(snap: Snapshot) -> bool:
    """Linear mode: an honest member other than the collector sends only its own vote, to the
    collector, and an honest collector only certificates, one per member: at most 2(n-1)
    messages from honest agents in all (the all-to-all mode sends n(n-1))."""
    protocol = _protocol(snap)
    if not _is_linear(protocol):
        return True  # not applicable (applies_to); callers that ignore that see it hold
    collector = protocol.collector  # type: ignore[attr-defined]
    sent = _honest_sent(snap)
    for envelope in sent:
        message = envelope.message
        if message.sender == collector:
            if not isinstance(message, Certificate):
                return False
        elif envelope.to != collector or not isinstance(message, SignedVote) \
                or message.value != protocol.inputs[message.sender]:
            return False
    return len({(e.to, e.message) for e in sent}) <= 2 * (protocol.n - 1)


@always("WV-C2", "Certificates are backed", reads=("in_flight",))
def certificates_backed(snap: Snapshot) -> bool:
    """Every certificate an honest agent sent carries votes for its value, signed by distinct
    members, whose configured weight is more than threshold x total: it proves what it claims."""
    protocol = _protocol(snap)
    if not _is_linear(protocol):
        return True  # not applicable (applies_to)
    weights = _ConfiguredWeights(protocol)
    auth = protocol.auth  # type: ignore[attr-defined]
    floor = protocol.quorum_weight
    for envelope in _honest_sent(snap):
        cert = envelope.message
        if not isinstance(cert, Certificate):
            continue
        senders = [v.sender for v in cert.votes]
        if len(set(senders)) != len(senders) or not all(s in protocol.membership for s in senders):
            return False
        if not all(v.value == cert.value and auth.verify(v) for v in cert.votes):
            return False
        if weights.of(senders) <= floor:
            return False
    return True


@sometimes("WV-R2", "A member decides from a certificate", applies_to=_is_linear, reads=("decisions",))
def certificate_decides(snap: Snapshot) -> bool:
    """Non-vacuity of linear mode: an honest member other than the collector decides."""
    collector = getattr(_protocol(snap), "collector", None)
    return collector is not None and any(d.agent != collector for d in snap.honest_decisions())


#: the linear-mode properties say nothing of an all-to-all instance
linear_communication = dataclasses.replace(linear_communication, applies_to=_is_linear)
certificates_backed = dataclasses.replace(certificates_backed, applies_to=_is_linear)

PROPERTIES = (agreement, validity, integrity, one_counted_vote_per_member, decision_backed,
              counted_vote_kept, someone_decides, termination, linear_communication, certificates_backed,
              certificate_decides)
