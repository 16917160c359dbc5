"""Properties and the global snapshot they are stated over.

An invariant is a plain predicate over a :class:`Snapshot`. The same function
runs inside the model checker, as a Hypothesis ``@invariant`` and as a live
monitor in the simulator and runtime.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .identity import AgentId, Membership
from .messages import Envelope


class ProtocolView(Protocol):
    """What a property may read of the protocol instance without knowing its class.

    Every :class:`~mabeam.core.protocol.Protocol` provides it; a predicate that needs
    protocol-specific configuration narrows ``snapshot.protocol`` to its own class.
    """

    @property
    def name(self) -> str: ...

    @property
    def membership(self) -> Membership: ...

    @property
    def session(self) -> str: ...

    @property
    def agents(self) -> tuple[AgentId, ...]: ...

    @property
    def n(self) -> int: ...

    def decision_of(self, state: Any) -> Any: ...


class Kind(enum.Enum):
    ALWAYS = "always"  # safety invariant: holds in every reachable state
    SOMETIMES = "sometimes"  # reachability goal: some reachable state satisfies it (non-vacuity)
    EVENTUALLY = "eventually"  # liveness: every fair execution reaches it


@dataclass(frozen=True)
class Decision:
    agent: AgentId
    instance: Any
    value: Any


@dataclass(frozen=True)
class Snapshot:
    """A global view: every agent's state, faults, messages in flight, decisions so far."""

    protocol: ProtocolView
    states: Mapping[AgentId, Any]
    crashed: frozenset[AgentId] = frozenset()
    byzantine: frozenset[AgentId] = frozenset()
    decisions: frozenset[Decision] = frozenset()
    evidence: frozenset[Any] = frozenset()
    in_flight: tuple[Envelope, ...] = ()

    @property
    def honest(self) -> tuple[AgentId, ...]:
        """Agents that follow the protocol (they may still crash)."""
        return tuple(a for a in self.protocol.agents if a not in self.byzantine)

    @property
    def correct(self) -> tuple[AgentId, ...]:
        """Honest agents that have not crashed."""
        return tuple(a for a in self.honest if a not in self.crashed)

    def honest_decisions(self) -> list[Decision]:
        return [d for d in self.decisions if d.agent not in self.byzantine]

    def decided_by(self, agent: AgentId, instance: Any = 0) -> set[Any]:
        return {d.value for d in self.decisions if d.agent == agent and d.instance == instance}


Predicate = Callable[[Snapshot], bool]


@dataclass(frozen=True)
class Property:
    """A named property with a stable ID cited by spec/, properties/, models/ and tla/."""

    id: str
    name: str
    kind: Kind
    predicate: Predicate = field(compare=False)
    description: str = ""
    #: ``applies_to(protocol)`` is False where the property says nothing about that instance
    #: (e.g. "a view change completes" under a bound that allows no view change); drivers
    #: then report it as not checked instead of failing or passing it vacuously.
    applies_to: Callable[[Any], bool] | None = field(default=None, compare=False)

    def holds(self, snapshot: Snapshot) -> bool:
        return bool(self.predicate(snapshot))

    def applies(self, protocol: ProtocolView) -> bool:
        return self.applies_to is None or bool(self.applies_to(protocol))

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


def always(id: str, name: str, description: str = "") -> Callable[[Predicate], Property]:
    """Decorator: declare a safety invariant."""
    return lambda fn: Property(id, name, Kind.ALWAYS, fn, description or (fn.__doc__ or "").strip())


def sometimes(id: str, name: str, description: str = "",
              applies_to: Callable[[Any], bool] | None = None) -> Callable[[Predicate], Property]:
    """Decorator: declare a reachability goal that proves the model is not vacuous."""
    return lambda fn: Property(id, name, Kind.SOMETIMES, fn, description or (fn.__doc__ or "").strip(),
                               applies_to)


def eventually(id: str, name: str, description: str = "") -> Callable[[Predicate], Property]:
    """Decorator: declare a liveness goal (checked under the driver's stated fairness)."""
    return lambda fn: Property(id, name, Kind.EVENTUALLY, fn, description or (fn.__doc__ or "").strip())


# ---------------------------------------------------------------- shared invariants
def agreement_holds(snapshot: Snapshot) -> bool:
    """No two honest agents decided different values for the same instance."""
    seen: dict[Any, Any] = {}
    for d in snapshot.decisions:
        if d.agent in snapshot.byzantine:
            continue
        if d.instance in seen and seen[d.instance] != d.value:
            return False
        seen.setdefault(d.instance, d.value)
    return True


def integrity_holds(snapshot: Snapshot) -> bool:
    """Each honest agent decided at most one value per instance."""
    seen: set[tuple[AgentId, Any]] = set()
    for d in snapshot.decisions:
        if d.agent in snapshot.byzantine:
            continue
        key = (d.agent, d.instance)
        if key in seen:
            return False
        seen.add(key)
    return True
