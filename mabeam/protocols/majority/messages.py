"""The one message of simple majority voting: a member's vote."""

from __future__ import annotations

from ...core import Message


class Vote(Message, frozen=True, tag="majority.vote"):
    value: str


MESSAGE_TYPES: tuple[type[Message], ...] = (Vote,)
