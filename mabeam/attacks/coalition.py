"""Coalition attacks: several Byzantine agents carrying out one shared plan.

A :class:`CoalitionPlan` is the only thing the members share: who is in the
coalition and which honest peers are the *victims* (they get the coalition's
value, everyone else gets the honest one). Each member is an ordinary
:class:`~mabeam.attacks.base.Distorting` node that signs only with its own key
through its own adapter; coordination comes from the plan, never from a
shared signer. With every member lying to the same victims, the coalition's
votes pile up on one side of the split instead of cancelling out, which is
what it takes to split honest replicas when the coalition exceeds the bound.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..core.effects import Effect, Send
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.protocol import Protocol
from ..live.strategy import HonestStrategy, Strategy
from .base import Distorting, MessageAdapter


@dataclass(frozen=True)
class CoalitionPlan:
    """The coalition's shared plan: members, victims, and how many victims also see the truth.

    ``witnesses`` victims (the first in name order) receive the honest message before
    the lie: a coalition that wants to stay unexposed sets it to 0.
    """

    members: frozenset[AgentId]
    victims: frozenset[AgentId]
    witnesses: int = 0

    def __init__(self, members: Iterable[AgentId], victims: Iterable[AgentId], witnesses: int = 0) -> None:
        object.__setattr__(self, "members", frozenset(members))
        object.__setattr__(self, "victims", frozenset(victims))
        object.__setattr__(self, "witnesses", witnesses)
        if not self.members:
            raise ConfigurationError("a coalition needs at least one member")
        if self.members & self.victims:
            raise ConfigurationError(f"coalition members cannot be victims: {sorted(self.members & self.victims)}")
        if isinstance(witnesses, bool) or not isinstance(witnesses, int) or witnesses < 0:
            raise ConfigurationError(f"witnesses must be a non-negative integer, got {witnesses!r}")

    @classmethod
    def split(cls, members: Iterable[AgentId], agents: Iterable[AgentId], witnesses: int = 0) -> CoalitionPlan:
        """Victims = the second half (in the given order) of the honest agents."""
        crew = frozenset(members)
        honest = [a for a in agents if a not in crew]
        return cls(crew, honest[len(honest) // 2:], witnesses)

    @property
    def witness_set(self) -> frozenset[AgentId]:
        return frozenset(sorted(self.victims)[: self.witnesses])


class CoalitionMember(Distorting):
    """One member of a coalition: lies to the plan's victims with its own signature."""

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 plan: CoalitionPlan) -> None:
        super().__init__(honest, adapter)
        if not isinstance(plan, CoalitionPlan):
            raise ConfigurationError(f"plan must be a CoalitionPlan, got {plan!r}")
        if self.agent not in plan.members:
            raise ConfigurationError(f"{self.agent} is not a member of the coalition's plan")
        self.plan = plan
        self.lies = 0

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        lie = self.adapter.conflicting(message)
        if lie is None:
            return super().outgoing(message, recipients)
        self.lies += 1
        witnesses = self.plan.witness_set
        out: list[Effect] = []
        for to in recipients:
            if to in self.plan.victims:
                if to in witnesses:
                    out.append(Send(to, message))
                out.append(Send(to, lie))
            else:
                out.append(Send(to, message))
        return out


def make_coalition(plan: CoalitionPlan, protocol: Protocol,
                   adapter_for: Callable[[AgentId], MessageAdapter]) -> dict[AgentId, Strategy]:
    """One :class:`CoalitionMember` per member of ``plan``, each with its own adapter (its own key)."""
    for agent in plan.members | plan.victims:
        protocol.membership.require(agent)
    return {agent: CoalitionMember(HonestStrategy(agent, protocol), adapter_for(agent), plan=plan)
            for agent in sorted(plan.members)}
