"""Small pieces every PBFT handler shares: rejections, deferrals, evidence, first-vote bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...core import Defer, Effect, Message, Reject, Step
from .auth import equivocation


def reject(state: Any, reason: str, message: Message) -> Step:
    """Refuse ``message``: the state is unchanged and the driver counts the reason."""
    return Step(state, (Reject(reason, message),))


def defer(state: Any, message: Message) -> Step:
    """``message`` is valid but cannot count yet: the state is unchanged and the driver redelivers it later."""
    return Step(state, (Defer(message),))


def first_from(votes: Sequence[Message], sender: str, **slot: Any) -> Message | None:
    """The message already counted from ``sender`` (optionally matching slot fields)."""
    for vote in votes:
        if vote.sender == sender and all(getattr(vote, k) == v for k, v in slot.items()):
            return vote
    return None


def duplicate_or_conflict(state: Any, counted: Message, incoming: Message) -> Step:
    """A sender's second message for a slot: ignored if identical, evidence if it conflicts.

    Either way the counted vote stays: a later message never replaces it.
    """
    if counted == incoming:
        return reject(state, "duplicate", incoming)
    effects: tuple[Effect, ...] = (equivocation(counted, incoming), Reject("equivocation", incoming))
    return Step(state, effects)
