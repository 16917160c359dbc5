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


class SignedVote(Vote, frozen=True, tag="weighted.signed-vote", forbid_unknown_fields=True):
    """A vote in linear mode: signed by its voter, so a certificate can carry it to third parties."""

    signature: bytes = b""


class Certificate(Message, frozen=True, tag="weighted.certificate", forbid_unknown_fields=True):
    """Linear mode: the signed votes for ``value`` a collector counted, from members weighing more
    than the quorum; signed by its sender. Anyone can check it: it proves the value was backed."""

    value: Value
    votes: tuple[SignedVote, ...]
    signature: bytes = b""


#: the wire format of linear mode (:mod:`.linear`)
LINEAR_MESSAGE_TYPES: tuple[type[Message], ...] = (SignedVote, Certificate)
