"""Byzantine attack strategies for live runs (simulator and runtime).

Each attack replaces one agent's honest handler and holds only that agent's
key: see :mod:`.base` for the shape they share and :mod:`.strategies` for the
attacks. :func:`make_attack` builds one by name. Coordinated and adaptive attackers
(:mod:`.coalition`, :mod:`.adaptive`) take a shared plan or a "noticed" predicate.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.protocol import Protocol
from ..live.strategy import HonestStrategy, Strategy
from .adaptive import Adaptive, Notice, pbft_suspicion
from .base import Distorting, MessageAdapter
from .coalition import CoalitionMember, CoalitionPlan, make_coalition
from .strategies import Delaying, Equivocating, Forging, Replaying, Silent

#: attack name -> strategy class
ATTACKS: dict[str, type[Distorting]] = {
    "silent": Silent, "equivocating": Equivocating, "delaying": Delaying,
    "forging": Forging, "replaying": Replaying,
}


def make_attack(name: str, agent: AgentId, protocol: Protocol, adapter: MessageAdapter | None = None,
                **options: Any) -> Strategy:
    """The attack ``name`` played by ``agent`` on top of its honest node for ``protocol``."""
    try:
        cls = ATTACKS[name]
    except (KeyError, TypeError):
        raise ConfigurationError(f"unknown attack {name!r}; known: {', '.join(sorted(ATTACKS))}") from None
    protocol.membership.require(agent)
    try:
        return cls(HonestStrategy(agent, protocol), adapter, **options)
    except TypeError as exc:
        raise ConfigurationError(f"bad options for the {name} attack: {exc}") from None


__all__ = [
    "ATTACKS", "Adaptive", "CoalitionMember", "CoalitionPlan", "Delaying", "Distorting", "Equivocating", "Forging",
    "MessageAdapter", "Notice", "Replaying", "Silent",
    "make_attack", "make_coalition", "pbft_suspicion",
]
