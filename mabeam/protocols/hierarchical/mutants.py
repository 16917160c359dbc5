"""Deliberately broken hierarchies; each must be caught by the checker with a trace."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ...core import AgentId, Decide, Message, Step
from ...core.catalog import mutant
from .config import Group, build
from .machine import Hierarchical
from .messages import GroupCertificate, GroupVote
from .state import HierState


class AcceptAlteredValue(Hierarchical):
    """Checks the signatures of a certificate but not that they sign its stated value:
    a representative relays a valid quorum for x under the value y."""

    def _vote_matches(self, cert: GroupCertificate, vote: GroupVote) -> bool:
        return True


class ThresholdFPlusOne(Hierarchical):
    """Certifies (and accepts certificates) with f_g + 1 signatures instead of q_g."""

    def quorum(self, group: Group) -> int:
        return group.f + 1


class CountEveryCertificate(Hierarchical):
    """Counts a second, conflicting certified value of a group as another vote: a group with
    more than f_g faults weighs as two members above."""

    def _count(self, state: HierState, cert: GroupCertificate, signers: tuple[AgentId, ...]) -> Step:
        counted = state.entry(cert.group)
        if state.decided is None and counted is not None and counted[1] != cert.value \
                and (cert.group, cert.value) not in {(e[0], e[1]) for e in state.tally}:
            tally = tuple(sorted(state.tally + ((cert.group, cert.value, signers),)))
            return self._maybe_decide(msgspec.structs.replace(state, tally=tally), cert.value)
        return super()._count(state, cert, signers)


class ConsumeUncertified(Hierarchical):
    """Takes a bare signed vote from a group member as that group's output (no certificate)."""

    def on_message(self, agent: AgentId, state: HierState, message: Message) -> Step:
        if state.role == "judge" and isinstance(message, GroupVote):
            group = self.group_of(message.sender)
            if group is None or not self.auth.verify(message) or message.group != group.name:
                return super().on_message(agent, state, message)
            cert = self.certificate(message.sender, group, message.value, (message,))
            return self._count(state, cert, (message.sender,))
        return super().on_message(agent, state, message)


class DecideBelowThreshold(Hierarchical):
    """Decides on T - 1 certified group votes."""

    def _maybe_decide(self, state: HierState, value: str) -> Step:
        if sum(1 for e in state.tally if e[1] == value) < self.threshold - 1:
            return Step(state)
        return Step(msgspec.structs.replace(state, decided=value), (Decide(value),))


class WaitForAllVotes(Hierarchical):
    """A forwarder waits for every member's vote, so one silent Byzantine member blocks its group."""

    def _certifiable(self, group: Group, matching: int) -> bool:
        return matching >= group.n


def representative_accounting(groups: tuple[Group, ...], byzantine: Iterable[AgentId]) -> int:
    """Wrong fault accounting: only a Byzantine representative makes a group faulty above,
    so a group with more than f_g Byzantine members but an honest representative counts as honest."""
    byzantine = set(byzantine)
    return sum(1 for g in groups if g.representative in byzantine)


#: the layouts mutants are checked on: small, so a misbehaving mutant still has a small state space
SMALL, OVER_BOUND = (6, 1), (9, 2)

MUTANTS = (
    mutant(AcceptAlteredValue, "representative-alters-result",
           "judges check a certificate's signatures but not that they sign its stated value, so a "
           "Byzantine representative passes a quorum for x up as y", ("HIER-S2",), build=build, size=SMALL),
    mutant(ThresholdFPlusOne, "threshold-f-plus-one",
           "a certificate needs f_g + 1 signatures instead of q_g = (n_g + f_g) // 2 + 1",
           ("HIER-S2", "HIER-S5"), build=build, size=SMALL),
    mutant(CountEveryCertificate, "faulty-group-counted-twice",
           "a group that certified two values (more than f_g faults) is counted for both", ("HIER-S4",),
           build=build, size=OVER_BOUND),
    mutant(ConsumeUncertified, "consume-uncertified-output",
           "a judge takes a member's bare signed vote as its group's output", ("HIER-S5", "HIER-S2"),
           build=build, size=SMALL),
    mutant(DecideBelowThreshold, "decide-below-threshold",
           "a judge decides on T - 1 certified group votes", ("HIER-S5",), build=build, size=SMALL),
    mutant(Hierarchical, "faulty-group-counted-honest",
           "fault accounting counts a group as faulty above only if its representative is Byzantine, so "
           "a group with 2 > f_g Byzantine members is counted honest and an upper level of 3 groups runs "
           "with T = 2 (the correct accounting refuses it: 3 < 3F + 1)", ("HIER-S3",), build=build, size=(8, 2),
           options={"accounting": representative_accounting}),
    mutant(Hierarchical, "undersized-group-accepted",
           "a group of 3 claiming f_g = 1 is not refused (n_g < 3 f_g + 1) and its votes are counted",
           ("HIER-S1",), build=build, size=(7, 1), options={"check_size": False}),
    mutant(WaitForAllVotes, "wait-for-all-votes",
           "a forwarder waits for all n_g votes, so a silent Byzantine member blocks its group",
           ("HIER-L1",), build=build, size=SMALL),
)
