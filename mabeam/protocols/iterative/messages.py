"""The one message of approximate agreement: an agent's value entering a round."""

from __future__ import annotations

from ...core import Message
from .values import WireVector


class RoundValue(Message, frozen=True, tag="iterative.value"):
    """An agent's value entering ``round`` (rationals as (numerator, denominator) pairs)."""

    round: int
    value: WireVector


MESSAGE_TYPES: tuple[type[Message], ...] = (RoundValue,)
