"""Deliberately broken weighted-vote variants; each must be caught by the checker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, cast

import msgspec

from ...core import AgentId, Broadcast, Decide, Envelope, Evidence, Message, Protocol, Step
from ...core.catalog import mutant
from .adversary import WeightedAdversary
from .config import build
from .linear import LinearState, LinearWeightedVoting
from .machine import WeightedVoting
from .messages import Certificate, Vote
from .state import WeightedState, credit


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


class BoastingAdversary(WeightedAdversary):
    """A faulty member's every vote claims the whole group's weight (the outsider is unchanged)."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        voting = cast("TrustSelfReportedWeight", protocol)
        boast = int(voting.total_weight)
        return [Envelope(to, ClaimedWeightVote(session=voting.session, sender=faulty, value=value,
                                               weight=boast))
                for value in voting.candidates for to in voting.membership.others(faulty)]


class TrustSelfReportedWeight(WeightedVoting):
    """Credits the weight a vote claims instead of the configured one; a Byzantine agent
    claims the whole group's weight."""

    message_types: ClassVar[tuple[type[Message], ...]] = (ClaimedWeightVote,)
    adversary = BoastingAdversary()

    def signed_vote(self, sender: AgentId, value: str) -> Vote:
        return ClaimedWeightVote(session=self.session, sender=sender, value=value,
                                 weight=int(self.weights[sender]))

    def _credited_units(self, position: int, vote: Vote) -> int:
        assert isinstance(vote, ClaimedWeightVote)
        return vote.weight * self.unit_scale


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


class LatestVoteCounts(WeightedVoting):
    """Counts each member's latest vote instead of its first: a conflicting vote is reported as
    evidence and then silently takes the counted vote's place (``votes[sender] = value``).

    It keeps its tally consistent and never records the conflicting vote as refused (it
    took it), so no single state looks wrong: only the step that rewrites a counted vote
    does (WV-T1).
    """

    def _equivocation(self, state: WeightedState, counted: str, vote: Vote) -> Step:
        position = self.membership.index(vote.sender)
        units = self.weight_units[position]
        votes = state.votes[:position] + (vote.value,) + state.votes[position + 1:]
        support = dict(state.support)
        support[counted] -= units
        if counted not in votes:
            del support[counted]
        support[vote.value] = support.get(vote.value, 0) + units
        state = msgspec.structs.replace(state, votes=votes, support=tuple(sorted(support.items())))
        state, decided = self._maybe_decide(state, vote.value)
        proof = (self.signed_vote(vote.sender, counted), vote)
        return Step(state, (Evidence("equivocation", vote.sender, proof),) + decided)


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


# ------------------------------------------------------------------ linear mode
class TrustsCertificate(LinearWeightedVoting):
    """Linear mode: decides whatever value a certificate names, checking neither its signatures
    nor its weight (a Byzantine member's certificate of two light votes decides)."""

    def on_certificate(self, agent: AgentId, state: LinearState, cert: Certificate) -> Step:
        if state.phase == "decided":
            return Step(state)
        return Step(msgspec.structs.replace(state, phase="decided", decided=cert.value), (Decide(cert.value),))


class RelaysVotes(LinearWeightedVoting):
    """The collector relays every vote it counts to everybody: n(n-1) messages again."""

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        step = super().on_message(agent, state, message)
        if agent == self.collector and isinstance(message, Vote) and step.state is not state:
            return Step(step.state, step.effects + (Broadcast(message),))
        return step


class IgnoresCertificates(LinearWeightedVoting):
    """Members drop every certificate unread, so only the collector ever decides."""

    def on_certificate(self, agent: AgentId, state: LinearState, cert: Certificate) -> Step:
        return Step(state)


class CertificateWithoutOwnVote(LinearWeightedVoting):
    """The collector's certificate leaves out the collector's own vote, so it no longer carries
    the quorum: receivers refuse it and only a Byzantine member's certificate could decide them."""

    def certificate(self, agent: AgentId, state: LinearState) -> Certificate:
        cert = super().certificate(agent, state)
        votes = tuple(v for v in cert.votes if v.sender != agent)
        return self.signer(agent).sign(msgspec.structs.replace(cert, votes=votes, signature=b""))


LINEAR = {"communication": "linear"}

MUTANTS = (
    mutant(ThresholdInclusive, "threshold-inclusive",
           "decides on support >= 2/3 of the weight instead of strictly more", ("WV-S5",), build=build),
    mutant(DoubleCountRevote, "double-count-revote", "a re-delivered vote adds its sender's weight again",
           ("WV-S4",), build=build, size=(3, 1)),
    mutant(AcceptUnknownSender, "accept-unknown-sender", "an outsider's vote is counted with a default weight of 1",
           ("WV-S4",), build=build, size=(3, 1), intruder=True),
    mutant(TrustSelfReportedWeight, "trust-self-reported-weight",
           "counts the weight a vote claims; a Byzantine agent claims everything",
           ("WV-S1", "WV-S2", "WV-S4", "WV-S5"), build=build),
    mutant(EquivocationReplacesFirst, "equivocation-replaces-first",
           "a conflicting vote replaces the counted first vote", ("WV-S4",), build=build, size=(3, 1)),
    mutant(LatestVoteCounts, "latest-vote-counts",
           "a conflicting vote silently replaces the counted first vote", ("WV-T1",), build=build, size=(3, 1)),
    mutant(ReviseDecision, "revise-decision",
           "keeps counting after deciding and re-decides on a plurality of counted weight",
           ("WV-S3", "WV-S1"), build=build, size=(3, 1)),
    mutant(WaitForAllWeight, "wait-for-all-weight",
           "waits for the whole weight on one value, so one dissenter blocks termination",
           ("WV-L1", "WV-R1"), build=build, size=(3, 1)),
    mutant(TrustsCertificate, "trusts-certificate",
           "linear mode: decides a certificate's value without checking its signatures or weight",
           ("WV-S1", "WV-S5"), build=build, options=LINEAR),
    mutant(RelaysVotes, "relay-votes", "linear mode: the collector relays every vote it counts to everybody",
           ("WV-C1",), build=build, options=LINEAR),
    mutant(IgnoresCertificates, "ignores-certificates",
           "linear mode: members drop certificates unread, so only the collector decides",
           ("WV-R2", "WV-L1"), build=build, options=LINEAR),
    mutant(CertificateWithoutOwnVote, "certificate-without-own-vote",
           "linear mode: the collector's certificate omits its own vote and falls below the quorum",
           ("WV-C2", "WV-L1"), build=build, options=LINEAR),
)
