"""Observers: how anything outside a protocol watches a run without changing it.

Every driver (the model checker, the simulator, the asyncio runtime) takes a
sequence of :class:`Observer` objects and tells them what happens: the run
starting and ending, each protocol step with the states before and after,
decisions, evidence, rejections, timers and faults. The live property monitor,
run statistics, stage timings and telemetry are observers. Every method is a
no-op here, so an observer overrides only what it needs; a driver with no
observers pays nothing.

``at`` is the driver's clock: virtual seconds in the simulator, seconds since
the run started in the runtime, and the breadth-first depth in the checker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from .effects import Effect, Evidence
from .identity import AgentId
from .messages import Message

if TYPE_CHECKING:
    from .properties import Snapshot
    from .protocol import Protocol

#: step kinds: the agent starts, a message is delivered (or handed back after a deferral), a timer fires
START, DELIVER, REDELIVER, TIMER = "start", "deliver", "redeliver", "timer"


@dataclass(frozen=True)
class RunInfo:
    """What a driver tells observers when a run starts."""

    driver: str  # checker | simulator | runtime
    protocol: Protocol
    seed: int | str | None = None
    byzantine: frozenset[AgentId] = frozenset()
    #: a global snapshot of the run as it is now (live drivers; ``None`` in the checker)
    snapshot: Callable[[], Snapshot] | None = field(default=None, compare=False)
    #: the same, built in O(1) on the driver's live table of states: read it during the notification
    #: that asked for it and do not keep it (a live monitor judges every step on one)
    view: Callable[[], Snapshot] | None = field(default=None, compare=False)


class ObservedStep(NamedTuple):
    """One protocol step of one agent, as a driver saw it (immutable; a named tuple because drivers
    build one per step, and a frozen dataclass sets each field through ``object.__setattr__``)."""

    protocol: Protocol
    agent: AgentId
    kind: str  # start | deliver | redeliver | timer
    detail: Message | str | None  # the message delivered, or the timer's name
    before: Any  # the node state before (None at start, and for a Byzantine agent)
    after: Any
    effects: tuple[Effect, ...]
    at: float
    byzantine: bool = False

    @property
    def phase(self) -> str | None:
        """The node's phase after the step, as the protocol names it."""
        return None if self.byzantine else self.protocol.phase_of(self.after)

    @property
    def phase_changed(self) -> bool:
        if self.byzantine or self.before is None:
            return not self.byzantine
        return self.protocol.phase_of(self.before) != self.protocol.phase_of(self.after)


class Observer:
    """Base class: override the notifications you need."""

    def on_run_start(self, run: RunInfo) -> None:
        """Before the first event."""

    def on_step(self, step: ObservedStep) -> None:
        """After an agent handled an event (its effects not yet interpreted)."""

    def on_decision(self, agent: AgentId, value: Any, instance: Any, at: float, round: int) -> None:
        """An agent decided; ``round`` is the causal message depth of the deciding step."""

    def on_evidence(self, agent: AgentId, evidence: Evidence, at: float) -> None:
        """An agent reported transferable proof of misbehaviour."""

    def on_rejection(self, reason: str, sender: AgentId | None, message: Message | None, at: float) -> None:
        """A message was refused, by a protocol or by the driver. ``sender`` is who it is attributed
        to: the name a refused message claimed, or for a driver-level refusal such as
        ``impersonation`` the agent that really sent it (the driver runs the links); ``None`` when
        nobody is to blame (e.g. a full deferral queue)."""

    def on_timer(self, agent: AgentId, name: str, action: str, at: float) -> None:
        """A timer was armed (``set``), disarmed (``cancel``) or fired (``fire``)."""

    def on_fault(self, agent: AgentId, kind: str, at: float) -> None:
        """A fault happened to or was caught at ``agent``: ``crash``, or a driver-level refusal
        such as ``impersonation``."""

    @property
    def watches_settling(self) -> bool:
        """Whether the driver must call :meth:`on_settled` after every event (it is a no-op unless overridden)."""
        return type(self).on_settled is not Observer.on_settled

    def on_settled(self, at: float, events: int, instant_over: bool) -> None:
        """Every consequence of the last event was handled; ``instant_over`` when no further event
        shares its time (the simulator's instants; in the runtime every event is its own instant)."""

    def on_run_stopping(self, at: float, events: int, quiescent: bool, fair: bool) -> None:
        """After the last event, before the result is built: whether the run reached quiescence,
        and whether its network was fair (what a final liveness judgement needs)."""

    def on_run_end(self, outcome: Any) -> None:
        """After the last event; ``outcome`` is the driver's result object."""


def observers_tuple(observers: Sequence[Observer] | None) -> tuple[Observer, ...]:
    """Validated observers for a driver (a typed error, not a failure mid-run, on a wrong object)."""
    from .errors import ConfigurationError

    found = tuple(observers or ())
    for observer in found:
        if not isinstance(observer, Observer):
            raise ConfigurationError(f"observers must be mabeam Observer objects, got {type(observer).__name__}")
    return found
