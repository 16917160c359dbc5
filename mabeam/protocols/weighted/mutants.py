"""Deliberately broken weighted-vote variants; each must be caught by the checker."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import msgspec

from ...core import AgentId, Envelope, Message, Step
from .machine import Vote, WeightedState, WeightedVoting


class ThresholdInclusive(WeightedVoting):
    """Decides on support >= threshold x total: exactly 2/3 of the weight is taken for a quorum."""

    def _backed(self, support: Fraction) -> bool:
        return support >= self.quorum_weight


class DoubleCountRevote(WeightedVoting):
    """Counts a member's repeated vote once more: a re-delivered vote adds its weight twice."""

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        assert isinstance(message, Vote)
        again = (message.sender + "#2", message.value)
        if state.phase == "voting" and (message.sender, message.value) in state.tally and again not in state.tally:
            state, decided = self._maybe_decide(msgspec.structs.replace(state, tally=state.tally | {again}))
            return Step(state, decided)
        return super().on_message(agent, state, message)

    def _weight(self, voter: AgentId) -> Fraction:
        return self.weights[voter.split("#")[0]]


class AcceptUnknownSender(WeightedVoting):
    """Skips the membership screen and gives a sender without a configured weight weight 1."""

    def screen(self, agent: AgentId, message: Message) -> str | None:
        reason = super().screen(agent, message)
        return None if reason == "unknown-sender" else reason

    def _weight(self, voter: AgentId) -> Fraction:
        return self.weights.get(voter, Fraction(1))


class ClaimedWeightVote(Vote, frozen=True, tag="weighted.claimed-vote"):
    """The mutant wire format: a vote that states its sender's weight."""

    weight: int


class ClaimingState(WeightedState, frozen=True):
    claims: frozenset[tuple[AgentId, int]] = frozenset()


class TrustSelfReportedWeight(WeightedVoting):
    """Counts the weight a vote claims instead of the configured one; a Byzantine agent
    claims the whole group's weight."""

    message_types = (ClaimedWeightVote,)

    def _vote(self, sender: AgentId, value: str) -> Vote:
        return ClaimedWeightVote(session=self.session, sender=sender, value=value,
                                 weight=int(self.weights[sender]))

    def _initial_state(self, agent: AgentId, value: str) -> WeightedState:
        return ClaimingState("voting", frozenset({(agent, value)}),
                             claims=frozenset({(agent, int(self.weights[agent]))}))

    def _count(self, state: WeightedState, vote: Vote) -> WeightedState:
        assert isinstance(state, ClaimingState) and isinstance(vote, ClaimedWeightVote)
        state = super()._count(state, vote)
        return msgspec.structs.replace(state, claims=state.claims | {(vote.sender, vote.weight)})

    def _support(self, state: WeightedState, value: str) -> Fraction:
        assert isinstance(state, ClaimingState)
        claimed = dict(state.claims)
        return sum((Fraction(claimed[voter]) for voter, v in state.tally if v == value), Fraction(0))

    def _winner(self, state: WeightedState) -> str | None:
        return next((v for v in sorted({v for _, v in state.tally}) if self._backed(self._support(state, v))),
                    None)

    def adversary_messages(self, faulty: AgentId) -> Iterable[Envelope]:
        boast = int(self.total_weight)
        return [Envelope(to, ClaimedWeightVote(session=self.session, sender=faulty, value=value, weight=boast))
                for value in self.candidates for to in self.membership.others(faulty)]


class EquivocationReplacesFirst(WeightedVoting):
    """On a conflicting vote, reports evidence but counts the newer vote instead of the first."""

    def _equivocation(self, state: WeightedState, counted: str, vote: Vote) -> Step:
        step = super()._equivocation(state, counted, vote)
        tally = frozenset((voter, vote.value if voter == vote.sender else v) for voter, v in step.state.tally)
        state, decided = self._maybe_decide(msgspec.structs.replace(step.state, tally=tally))
        return Step(state, step.effects + decided)


class ReviseDecision(WeightedVoting):
    """Keeps counting after deciding and re-decides for whichever value leads the counted weight."""

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        if state.phase == "decided":
            state = msgspec.structs.replace(state, phase="voting")
        return super().on_message(agent, state, message)

    def _winner(self, state: WeightedState) -> str | None:
        if len(state.tally) < 2:
            return None
        counted = sum((self._weight(voter) for voter, _ in state.tally), Fraction(0))
        best = max(sorted({v for _, v in state.tally}), key=lambda v: self._support(state, v))
        return best if 2 * self._support(state, best) >= counted else None


class WaitForAllWeight(WeightedVoting):
    """Waits until every member's weight backs one value, so one dissenter blocks everyone forever."""

    def _backed(self, support: Fraction) -> bool:
        return support >= self.total_weight
