"""The one message of weighted voting: a member's vote, which carries no weight."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ...core import Message

Value = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Vote(Message, frozen=True, tag="weighted.vote", forbid_unknown_fields=True):
    """A member's vote. It has no weight field, and bytes carrying any extra field
    (a claimed weight, say) are malformed: a sender cannot claim influence."""

    value: Value


MESSAGE_TYPES: tuple[type[Message], ...] = (Vote,)
