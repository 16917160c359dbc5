"""The one place where effects are dispatched.

A protocol step returns effects; every driver (the checker's compile step,
the simulator, the asyncio runtime, attack strategies) hands them to
:func:`interpret` together with an :class:`EffectSink` of its own. Adding an
effect type means one case here and one method per sink, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .effects import Broadcast, CancelTimer, Decide, Defer, Effect, Evidence, Reject, Send, SetTimer
from .identity import AgentId
from .messages import Message


class EffectSink(Protocol):
    """What a driver does with each kind of effect, for the agent whose step produced them."""

    def send(self, to: AgentId, message: Message) -> None: ...

    def broadcast(self, message: Message, include_self: bool) -> None: ...

    def set_timer(self, name: str, delay: float) -> None: ...

    def cancel_timer(self, name: str) -> None: ...

    def decide(self, value: Any, instance: Any) -> None: ...

    def evidence(self, evidence: Evidence) -> None: ...

    def reject(self, reason: str, message: Message | None) -> None: ...

    def defer(self, message: Message) -> None: ...


def interpret(effects: Iterable[Effect], sink: EffectSink) -> None:
    """Hand each effect, in order, to the matching method of ``sink``."""
    for effect in effects:
        match effect:  # ordered by how often each kind occurs
            case Broadcast():
                sink.broadcast(effect.message, effect.include_self)
            case Send():
                sink.send(effect.to, effect.message)
            case SetTimer():
                sink.set_timer(effect.name, effect.delay)
            case CancelTimer():
                sink.cancel_timer(effect.name)
            case Decide():
                sink.decide(effect.value, effect.instance)
            case Reject():
                sink.reject(effect.reason, effect.message)
            case Defer():
                sink.defer(effect.message)
            case Evidence():
                sink.evidence(effect)
            case _:
                raise TypeError(f"unknown effect {type(effect).__name__}: teach mabeam.core.interpret about it")


class EffectRecorder:
    """A sink that turns calls back into effect values (for wrappers that rewrite some of them)."""

    __slots__ = ("effects",)

    def __init__(self) -> None:
        self.effects: list[Effect] = []

    def send(self, to: AgentId, message: Message) -> None:
        self.effects.append(Send(to, message))

    def broadcast(self, message: Message, include_self: bool) -> None:
        self.effects.append(Broadcast(message, include_self))

    def set_timer(self, name: str, delay: float) -> None:
        self.effects.append(SetTimer(name, delay))

    def cancel_timer(self, name: str) -> None:
        self.effects.append(CancelTimer(name))

    def decide(self, value: Any, instance: Any) -> None:
        self.effects.append(Decide(value, instance))

    def evidence(self, evidence: Evidence) -> None:
        self.effects.append(evidence)

    def reject(self, reason: str, message: Message | None) -> None:
        self.effects.append(Reject(reason, message))

    def defer(self, message: Message) -> None:
        self.effects.append(Defer(message))


class SentMessages:
    """A sink that keeps only the messages a step sends (set-up checks measure them)."""

    __slots__ = ("messages",)

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def send(self, to: AgentId, message: Message) -> None:
        self.messages.append(message)

    def broadcast(self, message: Message, include_self: bool) -> None:
        self.messages.append(message)

    def set_timer(self, name: str, delay: float) -> None:
        """Not a message."""

    def cancel_timer(self, name: str) -> None:
        """Not a message."""

    def decide(self, value: Any, instance: Any) -> None:
        """Not a message."""

    def evidence(self, evidence: Evidence) -> None:
        """Not a message."""

    def reject(self, reason: str, message: Message | None) -> None:
        """Not sent."""

    def defer(self, message: Message) -> None:
        """Not sent."""


class EffectText:
    """A sink that renders effects as short phrases for traces and reports."""

    __slots__ = ("lines", "timers")

    def __init__(self, *, timers: bool = True) -> None:
        self.lines: list[str] = []
        self.timers = timers

    def send(self, to: AgentId, message: Message) -> None:
        self.lines.append(f"send {message.describe()} to {to}")

    def broadcast(self, message: Message, include_self: bool) -> None:
        self.lines.append(f"broadcast {message.describe()}")

    def set_timer(self, name: str, delay: float) -> None:
        if self.timers:
            self.lines.append(f"set timer {name!r} ({delay:g})")

    def cancel_timer(self, name: str) -> None:
        if self.timers:
            self.lines.append(f"cancel timer {name!r}")

    def decide(self, value: Any, instance: Any) -> None:
        self.lines.append(f"DECIDE {value!r}" + (f" @ {instance!r}" if instance != 0 else ""))

    def evidence(self, evidence: Evidence) -> None:
        self.lines.append(f"evidence {evidence.kind} against {evidence.against}")

    def reject(self, reason: str, message: Message | None) -> None:
        self.lines.append(f"reject {reason}" + (f" ({message.describe()} from {message.sender})" if message else ""))

    def defer(self, message: Message) -> None:
        self.lines.append(f"defer {message.describe()} from {message.sender}")


def describe_effects(effects: Iterable[Effect], *, timers: bool = True) -> list[str]:
    """One phrase per effect (timers left out when ``timers`` is false)."""
    text = EffectText(timers=timers)
    interpret(effects, text)
    return text.lines
