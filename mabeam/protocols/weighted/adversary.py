"""What the model checker injects against weighted voting.

A Byzantine member may sign any candidate value, to anyone, in any order (so it
may equivocate); an outsider signs, as itself, a vote that screening must refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from ...core import AgentId, Envelope, Protocol
from ...core.adversary import Adversary
from .messages import Vote

if TYPE_CHECKING:
    from .machine import WeightedVoting


class WeightedAdversary(Adversary):
    """Every vote a faulty member can sign; an intruder's vote for the first candidate."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        """Each candidate value to every other agent, as the protocol's own wire format signs it."""
        voting = cast("WeightedVoting", protocol)
        voting.membership.require(faulty)
        return [Envelope(to, voting.signed_vote(faulty, value))
                for value in voting.candidates for to in voting.membership.others(faulty)]

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider signs, as itself, a vote for the first candidate to every member."""
        voting = cast("WeightedVoting", protocol)
        return [Envelope(a, Vote(session=voting.session, sender="intruder", value=voting.candidates[0]))
                for a in voting.agents]
