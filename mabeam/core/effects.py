"""Effects: what a state machine asks its driver to do.

A protocol step returns a new state plus a tuple of these values. Drivers (the
model checker, Hypothesis harness, simulator and runtime) interpret them; the
protocol itself never performs I/O.
"""

from __future__ import annotations

from typing import Any

import msgspec

from .identity import AgentId
from .messages import Message


class Effect(msgspec.Struct, frozen=True):
    """Base class of effects."""


class Send(Effect, frozen=True):
    """Deliver ``message`` to one agent."""

    to: AgentId
    message: Message


class Broadcast(Effect, frozen=True):
    """Deliver ``message`` to every other member (and to the sender too if ``include_self``)."""

    message: Message
    include_self: bool = False


class SetTimer(Effect, frozen=True):
    """Arm (or re-arm) the named timer to fire after ``delay`` time units."""

    name: str
    delay: float


class CancelTimer(Effect, frozen=True):
    """Disarm the named timer if it is armed."""

    name: str


class Decide(Effect, frozen=True):
    """The agent decides ``value`` for ``instance`` (a slot, sequence number or 0)."""

    value: Any
    instance: Any = 0


class Evidence(Effect, frozen=True):
    """Transferable proof of misbehaviour by ``against`` (e.g. two conflicting signed messages)."""

    kind: str
    against: AgentId
    proof: tuple[Message, ...]


class Reject(Effect, frozen=True):
    """An incoming message was refused (counted by the driver, never state-changing)."""

    reason: str
    message: Message | None = None


class Defer(Effect, frozen=True):
    """``message`` arrived before the node can use it (e.g. a commit before its pre-prepare).

    The node's state is unchanged. Drivers hand the message back after the node's
    state next changes instead of losing it: live drivers keep it in a bounded
    per-node queue; the model checker leaves it in flight (not consumed). This is
    how a sans-I/O machine says "not yet" without buffering in its own state.
    """

    message: Message


def decisions_of(effects: tuple[Effect, ...]) -> list[Decide]:
    return [e for e in effects if isinstance(e, Decide)]
