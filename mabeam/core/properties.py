"""Properties and the global snapshot they are stated over.

An invariant is a plain predicate over a :class:`Snapshot`. The same function
runs inside the model checker, as a Hypothesis ``@invariant`` and as a live
monitor in the simulator and runtime.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import compress
from operator import is_not
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
    STEP = "step"  # safety over transitions: holds for every (before, action, after) step


@dataclass(frozen=True)
class Decision:
    agent: AgentId
    instance: Any
    value: Any


class Snapshot:
    """A global view: every agent's state, faults, messages in flight, decisions so far.

    What each field holds, in every driver:

    ``states``
        every member's node state, by agent: ``None`` before the agent started
        (and, in the checker, always for a Byzantine member, which runs no honest
        code); a crashed agent keeps the last state it had. Live drivers show a
        Byzantine agent's state as ``None`` too (its strategy has no node state).
    ``crashed`` / ``byzantine``
        the agents that crashed so far, and the agents that are Byzantine in this
        run (fixed for the whole run). :attr:`honest` and :attr:`correct` derive
        from them.
    ``decisions`` / ``evidence``
        every :class:`Decision` and every ``Evidence`` effect emitted so far, by
        any agent, as sets: they only grow (a decision taken twice is one fact).
    ``in_flight``
        the messages that may still be delivered, as :class:`~mabeam.core.messages.Envelope`
        values (recipient, message):

        - the checker's **multiset** network (a send is one copy, delivery consumes
          it): each distinct envelope once, however many copies are pending; a
          message a node deferred is still there; messages to a crashed agent are
          gone (it will never take them);
        - the checker's **duplicating** network (TLA+'s ``msgs``): every envelope
          ever sent, delivered or not, since it stays available forever;
        - in both checker networks, messages addressed to Byzantine members are
          never in flight (the adversary needs no deliveries to act), while every
          message a Byzantine member could sign is in flight from the start (see
          :mod:`mabeam.core.adversary`);
        - **live drivers** leave it empty (collecting it at every check would cost
          more than the run), so a property that reads it cannot be monitored live.

        The checker may pass ``in_flight`` as a zero-argument callable, computed on
        first use.
    ``protocol``
        the protocol instance (its configuration: membership, inputs, thresholds).
    """

    __slots__ = ("_in_flight", "byzantine", "crashed", "decisions", "evidence", "protocol", "states")

    def __init__(self, protocol: ProtocolView, states: Mapping[AgentId, Any],
                 crashed: frozenset[AgentId] = frozenset(), byzantine: frozenset[AgentId] = frozenset(),
                 decisions: frozenset[Decision] = frozenset(), evidence: frozenset[Any] = frozenset(),
                 in_flight: tuple[Envelope, ...] | Callable[[], tuple[Envelope, ...]] = ()) -> None:
        self.protocol = protocol
        self.states = states
        self.crashed = crashed
        self.byzantine = byzantine
        self.decisions = decisions
        self.evidence = evidence
        self._in_flight = in_flight

    @property
    def in_flight(self) -> tuple[Envelope, ...]:
        if callable(self._in_flight):
            self._in_flight = self._in_flight()
        return self._in_flight

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

    def replace(self, **changes: Any) -> Snapshot:
        """A copy with some fields changed."""
        fields: dict[str, Any] = {"protocol": self.protocol, "states": self.states, "crashed": self.crashed,
                  "byzantine": self.byzantine, "decisions": self.decisions, "evidence": self.evidence,
                  "in_flight": self._in_flight}
        fields.update(changes)
        return Snapshot(**fields)


class StatesBeforeStep(Mapping[AgentId, Any]):
    """``after`` with one agent's state put back as it was: the states before one live step.

    A live monitor judges step properties on every step; copying every member's state
    to build the snapshot before it would cost O(n) per step (the whole run O(n^2) at
    200 agents). :func:`changed_agents` reads this shape in O(1).
    """

    __slots__ = ("after", "agent", "before")

    def __init__(self, after: Mapping[AgentId, Any], agent: AgentId, before: Any) -> None:
        self.after, self.agent, self.before = after, agent, before

    def __getitem__(self, key: AgentId) -> Any:
        return self.before if key == self.agent else self.after[key]

    def get(self, key: AgentId, default: Any = None) -> Any:
        """As :meth:`__getitem__`, without the mixin's exception round trip (step properties call it per step)."""
        return self.before if key == self.agent else self.after.get(key, default)

    def __iter__(self) -> Iterator[AgentId]:
        return iter(self.after)

    def __len__(self) -> int:
        return len(self.after)


def changed_agents(before: Mapping[AgentId, Any], after: Mapping[AgentId, Any]) -> Iterable[AgentId]:
    """The agents whose state object differs between two snapshots' ``states``: the stepping agent,
    in O(1), for a live step's :class:`StatesBeforeStep`; otherwise found at C speed when both list
    the agents in one order, which every driver does."""
    if type(before) is StatesBeforeStep and before.after is after:
        return () if before.before is after[before.agent] else (before.agent,)
    keys = list(after)
    if keys == list(before):
        return compress(keys, map(is_not, before.values(), after.values()))
    return [a for a in keys if before.get(a) is not after[a]]


Predicate = Callable[[Snapshot], bool]
#: ``predicate(before, action, after)``: ``action`` has ``kind``, ``agent`` and ``detail`` (the checker's Action)
StepPredicate = Callable[[Snapshot, Any, Snapshot], bool]
#: what a property may read of a snapshot (see :attr:`Property.reads`)
READABLE = frozenset({"states", "decisions", "evidence", "crashed", "in_flight"})


@dataclass(frozen=True)
class Property:
    """A named property with a stable ID cited by spec/, properties/, models/ and tla/.

    ``reads`` names the parts of a snapshot the predicate depends on (a subset of
    :data:`READABLE`; ``None``: possibly all of them). The checker uses it to reuse
    a verdict across worlds that agree on those parts, and partial-order reduction
    treats a step that changes none of them as invisible to the property, so a
    declaration that is too narrow makes both unsound: declare what the predicate
    really reads.
    """

    id: str
    name: str
    kind: Kind
    predicate: Callable[..., bool] = field(compare=False)
    description: str = ""
    #: ``applies_to(protocol)`` is False where the property says nothing about that instance
    #: (e.g. "a view change completes" under a bound that allows no view change); drivers
    #: then report it as not checked instead of failing or passing it vacuously.
    applies_to: Callable[[Any], bool] | None = field(default=None, compare=False)
    reads: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.reads is not None:
            unknown = set(self.reads) - READABLE
            if unknown:
                from .errors import ConfigurationError

                raise ConfigurationError(f"{self.id} reads unknown snapshot parts {sorted(unknown)}")

    def holds(self, snapshot: Snapshot) -> bool:
        return bool(self.predicate(snapshot))

    def holds_on_step(self, before: Snapshot, action: Any, after: Snapshot) -> bool:
        return bool(self.predicate(before, action, after))

    def applies(self, protocol: ProtocolView) -> bool:
        return self.applies_to is None or bool(self.applies_to(protocol))

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


def _reads(reads: Iterable[str] | None) -> frozenset[str] | None:
    return None if reads is None else frozenset(reads)


def always(id: str, name: str, description: str = "", *,
           reads: Iterable[str] | None = None) -> Callable[[Predicate], Property]:
    """Decorator: declare a safety invariant."""
    return lambda fn: Property(id, name, Kind.ALWAYS, fn, description or (fn.__doc__ or "").strip(),
                               reads=_reads(reads))


def sometimes(id: str, name: str, description: str = "",
              applies_to: Callable[[Any], bool] | None = None, *,
              reads: Iterable[str] | None = None) -> Callable[[Predicate], Property]:
    """Decorator: declare a reachability goal that proves the model is not vacuous."""
    return lambda fn: Property(id, name, Kind.SOMETIMES, fn, description or (fn.__doc__ or "").strip(),
                               applies_to, reads=_reads(reads))


def eventually(id: str, name: str, description: str = "", *,
               reads: Iterable[str] | None = None) -> Callable[[Predicate], Property]:
    """Decorator: declare a liveness goal (checked under the driver's stated fairness)."""
    return lambda fn: Property(id, name, Kind.EVENTUALLY, fn, description or (fn.__doc__ or "").strip(),
                               reads=_reads(reads))


def always_step(id: str, name: str, description: str = "", *,
                reads: Iterable[str] | None = None) -> Callable[[StepPredicate], Property]:
    """Decorator: declare a safety property of every step, ``predicate(before, action, after)``.

    For what no single state shows: a decision never changes, a view never goes
    back, a counter only grows. The checker judges it on every transition it
    explores (a violation's trace ends with the offending step); live monitors
    do not judge it.
    """
    return lambda fn: Property(id, name, Kind.STEP, fn, description or (fn.__doc__ or "").strip(),
                               reads=_reads(reads))


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
