"""Deliberately broken majority voters; the checker must catch each with a counterexample."""

from __future__ import annotations

from typing import Any

import msgspec

from ...core import AgentId, Decide, Message, Step
from ...core.catalog import mutant
from .config import build
from .machine import MajorityVoting
from .messages import Vote
from .state import MajorityState, add_support


class QuorumOffByOne(MajorityVoting):
    """Decides on n//2 votes: half the group (or less) is taken for a majority."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quorum = len(self.membership) // 2


class DoubleCountRevote(MajorityVoting):
    """Counts every delivered vote, so a duplicated message counts twice."""

    def on_message(self, agent: AgentId, state: MajorityState, message: Message) -> Step:
        assert isinstance(message, Vote)
        if state.phase == "decided" or self._vote_of(state, message.sender) != message.value:
            return super().on_message(agent, state, message)
        state = msgspec.structs.replace(state, support=add_support(state.support, message.value))
        state, decided = self._maybe_decide(agent, state, message.value)
        return Step(state, decided)


class AcceptUnknownSender(MajorityVoting):
    """Skips the membership screen: an outsider's vote is counted."""

    def screen(self, agent: AgentId, message: Message) -> str | None:
        reason = super().screen(agent, message)
        return None if reason == "unknown-sender" else reason

    def _vote_of(self, state: MajorityState, sender: AgentId) -> str | None:
        return super()._vote_of(state, sender) if sender in self.membership else None

    def _count(self, state: MajorityState, vote: Vote) -> MajorityState:
        if vote.sender in self.membership:
            return super()._count(state, vote)
        return msgspec.structs.replace(state, support=add_support(state.support, vote.value))


class ForgetDecision(MajorityVoting):
    """Keeps tallying after deciding and re-decides for whichever value is now ahead."""

    def on_message(self, agent: AgentId, state: MajorityState, message: Message) -> Step:
        if state.phase == "decided":
            state = msgspec.structs.replace(state, phase="voting")
        return super().on_message(agent, state, message)

    def _maybe_decide(self, agent: AgentId, state: MajorityState, value: str
                      ) -> tuple[MajorityState, tuple[Decide, ...]]:
        if state.phase == "decided":
            return state, ()
        counted = sum(count for _, count in state.support)
        best, best_count = max(state.support, key=lambda item: item[1])  # ties: first value
        if 2 * best_count >= counted and counted > 1:
            return msgspec.structs.replace(state, phase="decided", decided=best), (Decide(best),)
        return state, ()


class WaitForEveryone(MajorityVoting):
    """Demands all n votes for one value: split inputs, or one crash, block everyone forever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quorum = len(self.membership)


class QuorumHalfRoundedUp(MajorityVoting):
    """Decides on ceil(n/2) votes: n//2 + 1 at odd n (the one size checked before), but half the group
    at even n. Checked at n = 2, the smallest even size, where one vote (its own) decides; at n = 4 the
    same bug shows after one delivery, in a space too large to audit in the fast tier (439,040 worlds)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quorum = (len(self.membership) + 1) // 2


MUTANTS = (
    mutant(QuorumOffByOne, "quorum-off-by-one", "decides on n//2 votes instead of n//2+1",
           ("MAJ-S1", "MAJ-S2", "MAJ-S5"), build=build),
    mutant(DoubleCountRevote, "double-count-revote", "a duplicated vote message is counted twice",
           ("MAJ-S4",), build=build, duplicates=1),
    mutant(AcceptUnknownSender, "accept-unknown-sender", "a vote from a non-member is counted",
           ("MAJ-S4", "MAJ-S5"), build=build, intruder=True),
    mutant(ForgetDecision, "forget-decision", "keeps voting after deciding and decides on a bare plurality",
           ("MAJ-S1", "MAJ-S3"), build=build),
    mutant(WaitForEveryone, "wait-for-everyone",
           "waits for all n votes, so split inputs or one crash block termination", ("MAJ-L1",), build=build),
    mutant(QuorumHalfRoundedUp, "quorum-half-rounded-up",
           "decides on ceil(n/2) votes: right at odd n, half the group at even n", ("MAJ-S5",),
           build=build, size=(2, 0), stop_on_violation=True),
)
