"""The one message of categorical refinement: an agent's answer for a round."""

from __future__ import annotations

from ...core import Message
from ...core.rationals import WireRational


class Proposal(Message, frozen=True, tag="iterative.proposal"):
    """``sender``'s answer in ``round``; a ``final`` one also stands for every later round."""

    round: int
    answer: str
    confidence: WireRational
    final: bool = False


MESSAGE_TYPES: tuple[type[Message], ...] = (Proposal,)
