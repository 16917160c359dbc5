"""The simple-majority state machine.

Every agent broadcasts its input once and decides ``v`` as soon as it has
counted votes for ``v`` from a strict majority (> n/2 distinct members, its own
included). Two strict majorities share a member and a correct member votes
once, so no two agents decide differently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import msgspec

from ...core import AgentId, Broadcast, Decide, Evidence, Membership, Message, Protocol, Step
from .. import classes_by
from .adversary import MajorityAdversary
from .config import crash_tolerance, quorum, validate_inputs
from .messages import MESSAGE_TYPES, Vote
from .properties import PROPERTIES
from .state import PHASES, MajorityState, add_support


class MajorityVoting(Protocol):
    """One simple-majority vote among ``membership`` with each agent's ``inputs``."""

    name = "majority"
    message_types = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = MajorityAdversary()
    #: ``votes[i]`` is member ``i``'s vote: renaming agents moves entries, it does not rename them
    per_member_fields: ClassVar[Mapping[type, tuple[str, ...]]] = {MajorityState: ("votes",)}

    def __init__(self, membership: Membership | Iterable[AgentId], inputs: Mapping[AgentId, str],
                 session: str = "s0") -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        self.inputs = validate_inputs(self.membership, inputs)
        self.quorum = quorum(len(self.membership))

    def crash_tolerance(self) -> int:
        """The most crashes under which a unanimous group still decides: f < n/2."""
        return crash_tolerance(self.n)

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        value = self.inputs[agent]
        votes = tuple(value if member == agent else None for member in self.agents)
        state = MajorityState("voting", votes, ((value, 1),))
        state, decided = self._maybe_decide(agent, state, value)
        return Step(state, (Broadcast(Vote(session=self.session, sender=agent, value=value)), *decided))

    def on_message(self, agent: AgentId, state: MajorityState, message: Message) -> Step:
        assert isinstance(message, Vote)
        if state.phase == "decided":
            return Step(state)
        previous = self._vote_of(state, message.sender)
        if previous is not None:
            if previous == message.value:
                return Step(state)  # a re-vote never counts twice
            return Step(state, (Evidence("equivocation", message.sender,
                                         (Vote(session=self.session, sender=message.sender, value=previous),
                                          message)),))
        state = self._count(state, message)
        state, decided = self._maybe_decide(agent, state, message.value)
        return Step(state, decided)

    # ----------------------------------------------------- rules (mutants override)
    def _vote_of(self, state: MajorityState, sender: AgentId) -> str | None:
        return state.votes[self.membership.index(sender)]

    def _count(self, state: MajorityState, vote: Vote) -> MajorityState:
        i = self.membership.index(vote.sender)
        return msgspec.structs.replace(state, votes=state.votes[:i] + (vote.value,) + state.votes[i + 1:],
                                       support=add_support(state.support, vote.value))

    def _maybe_decide(self, agent: AgentId, state: MajorityState, value: str
                      ) -> tuple[MajorityState, tuple[Decide, ...]]:
        """Only the value just counted can have reached the quorum."""
        if state.support_for(value) >= self.quorum:
            phase = PHASES.check(state.phase, "quorum", "decided")
            return msgspec.structs.replace(state, phase=phase, decided=value), (Decide(value),)
        return state, ()

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """Members with equal inputs are interchangeable.

        Every member plays the same role and the handlers after ``on_start`` never read the
        inputs; the properties read them only through counts (holders of a value, correct
        agents per value), which a permutation preserving inputs leaves unchanged. Crashes
        and the intruder's forged votes (sent to every member) treat all members alike.
        """
        return classes_by(self.agents, self.inputs.__getitem__)

    def sends_no_more(self, state: Any) -> bool:
        """Always: a voter broadcasts only in ``on_start``; ``on_message`` emits decisions and
        evidence only, and no timer is ever armed."""
        return True

    def describe_state(self, state: MajorityState) -> str:
        votes = ", ".join(f"{a}:{v}" for a, v in zip(self.agents, state.votes) if v is not None)
        return f"{state.phase} [{votes}]" + (f" decided={state.decided!r}" if state.decided else "")
