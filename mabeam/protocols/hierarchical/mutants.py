"""Deliberately broken hierarchies; each must be caught by the checker with a trace."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ...core import AgentId, Decide, Message, Step
from .config import Group
from .machine import GroupCertificate, GroupVote, HierState, Hierarchical


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

