"""Deliberately broken weighted-vote variants; each must be caught by the checker."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ...core import AgentId, Envelope, Message, Step
from .machine import Vote, WeightedState, WeightedVoting, credit


class ThresholdInclusive(WeightedVoting):
    """Decides on support >= threshold x total: exactly 2/3 of the weight is taken for a quorum."""

    def _backed(self, units: int) -> bool:
        return units >= self.quorum_units


class RecountingState(WeightedState, frozen=True):
    recounted: frozenset[AgentId] = frozenset()  # members whose re-vote was credited again


class DoubleCountRevote(WeightedVoting):
    """Credits a member's repeated vote once more: a re-delivered vote adds its weight twice
    (once per member, so the state space stays finite)."""

    state_type = RecountingState

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        assert isinstance(message, Vote) and isinstance(state, RecountingState)
        position = self.membership.index(message.sender)
        if (state.phase == "voting" and state.votes[position] == message.value
                and message.sender not in state.recounted):
            state = msgspec.structs.replace(
                state, recounted=state.recounted | {message.sender},
                support=credit(state.support, message.value, self.weight_units[position]))
            state, decided = self._maybe_decide(state, message.value)
            return Step(state, decided)
        return super().on_message(agent, state, message)


class OutsiderState(WeightedState, frozen=True):
    outsiders: frozenset[AgentId] = frozenset()  # non-members whose vote was credited


class AcceptUnknownSender(WeightedVoting):
    """Skips the membership screen and credits an outsider's first vote with a default weight of 1."""

    state_type = OutsiderState

    def screen(self, agent: AgentId, message: Message) -> str | None:
        reason = super().screen(agent, message)
        return None if reason == "unknown-sender" else reason

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        assert isinstance(message, Vote) and isinstance(state, OutsiderState)
        if message.sender in self.membership:
            return super().on_message(agent, state, message)
        if state.phase == "decided" or message.sender in state.outsiders:
            return Step(state)
        state = msgspec.structs.replace(state, outsiders=state.outsiders | {message.sender},
                                        support=credit(state.support, message.value, self.unit_scale))
        state, decided = self._maybe_decide(state, message.value)
        return Step(state, decided)


class ClaimedWeightVote(Vote, frozen=True, tag="weighted.claimed-vote"):
    """The mutant wire format: a vote that states its sender's weight."""

    weight: int


class TrustSelfReportedWeight(WeightedVoting):
    """Credits the weight a vote claims instead of the configured one; a Byzantine agent
    claims the whole group's weight."""

    message_types = (ClaimedWeightVote,)

    def _vote(self, sender: AgentId, value: str) -> Vote:
        return ClaimedWeightVote(session=self.session, sender=sender, value=value,
                                 weight=int(self.weights[sender]))

    def _credited_units(self, position: int, vote: Vote) -> int:
        assert isinstance(vote, ClaimedWeightVote)
        return vote.weight * self.unit_scale

    def adversary_messages(self, faulty: AgentId) -> Iterable[Envelope]:
        boast = int(self.total_weight)
        return [Envelope(to, ClaimedWeightVote(session=self.session, sender=faulty, value=value,
                                               weight=boast))
                for value in self.candidates for to in self.membership.others(faulty)]


class EquivocationReplacesFirst(WeightedVoting):
    """On a conflicting vote, reports evidence but counts the newer vote instead of the first."""

    def _equivocation(self, state: WeightedState, counted: str, vote: Vote) -> Step:
        step = super()._equivocation(state, counted, vote)
        position = self.membership.index(vote.sender)
        votes = step.state.votes[:position] + (vote.value,) + step.state.votes[position + 1:]
        moved = dict(step.state.support)
        moved[counted] -= self.weight_units[position]
        if counted not in votes:
            del moved[counted]
        moved[vote.value] = moved.get(vote.value, 0) + self.weight_units[position]
        state = msgspec.structs.replace(step.state, votes=votes, support=tuple(sorted(moved.items())))
        state, decided = self._maybe_decide(state, vote.value)
        return Step(state, step.effects + decided)


class ReviseDecision(WeightedVoting):
    """Keeps counting after deciding and re-decides for whichever value leads the counted weight."""

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        if state.phase == "decided":
            state = msgspec.structs.replace(state, phase="voting")
        return super().on_message(agent, state, message)

    def _winner(self, state: WeightedState, changed: str) -> str | None:
        if sum(v is not None for v in state.votes) < 2:
            return None
        counted = sum(units for _, units in state.support)
        best, units = max(state.support, key=lambda entry: entry[1])  # ties: the smallest value
        return best if 2 * units >= counted else None


class WaitForAllWeight(WeightedVoting):
    """Waits until every member's weight backs one value, so one dissenter blocks everyone forever."""

    def _backed(self, units: int) -> bool:
        return units >= self.total_units
