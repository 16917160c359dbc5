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

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .effects import Effect, Evidence
from .identity import AgentId
from .messages import Message

if TYPE_CHECKING:
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
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ObservedStep:
    """One protocol step of one agent, as a driver saw it."""

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

    def run_started(self, run: RunInfo) -> None:
        """Before the first event."""

    def step(self, step: ObservedStep) -> None:
        """After an agent handled an event (its effects not yet interpreted)."""

    def decided(self, agent: AgentId, value: Any, instance: Any, at: float) -> None:
        """An honest agent decided."""

    def evidence(self, agent: AgentId, evidence: Evidence, at: float) -> None:
        """An agent reported transferable proof of misbehaviour."""

    def rejected(self, agent: AgentId, reason: str, message: Message | None, at: float) -> None:
        """A message was refused: by ``agent``'s protocol, or by the driver (e.g. impersonation)."""

    def timer(self, agent: AgentId, name: str, action: str, at: float) -> None:
        """A timer was armed (``set``), disarmed (``cancel``) or fired (``fire``)."""

    def fault(self, agent: AgentId, kind: str, at: float) -> None:
        """A fault was injected: ``crash``, or a driver-level refusal such as ``impersonation``."""

    def run_ended(self, outcome: Any) -> None:
        """After the last event; ``outcome`` is the driver's result object."""


def observers_tuple(observers: Sequence[Observer] | None) -> tuple[Observer, ...]:
    """Validated observers for a driver (a typed error, not a failure mid-run, on a wrong object)."""
    from .errors import ConfigurationError

    found = tuple(observers or ())
    for observer in found:
        if not isinstance(observer, Observer):
            raise ConfigurationError(f"observers must be mabeam Observer objects, got {type(observer).__name__}")
    return found
