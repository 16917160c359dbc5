"""Protocol messages: frozen, typed values with one canonical byte encoding.

Messages are ``msgspec`` structs: immutable, hashable, cheap to build, and
validated field by field when decoded. Every message names its ``session``
(the protocol instance) and its ``sender``; protocols add view/round/sequence
and phase fields so a message can never be replayed into another context.

The canonical encoding is deterministic MessagePack (fields in declaration
order, sets sorted). It is what gets hashed, signed and sent over the wire.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple, TypeVar, Union

import msgspec

from .errors import MalformedMessageError
from .identity import AgentId

M = TypeVar("M", bound="Message")


class Message(msgspec.Struct, frozen=True, tag=True, kw_only=True, omit_defaults=False):
    """Base class of every protocol message.

    Subclasses declare ``tag="protocol.kind"`` so the kind travels with the bytes.
    """

    session: str
    sender: AgentId

    def canonical(self) -> bytes:
        """The canonical bytes of this message (stable across processes and runs)."""
        return _ENCODER.encode(self)

    def replace(self: M, **changes: Any) -> M:
        """A copy with some fields changed (messages are immutable)."""
        return msgspec.structs.replace(self, **changes)

    def describe(self) -> str:
        """A compact human-readable form used in traces."""
        fields = ", ".join(
            f"{name}={_short(getattr(self, name))}"
            for name in self.__struct_fields__
            if name not in ("session", "sender", "signature")
        )
        return f"{type(self).__name__}({fields})"


def _short(value: Any) -> str:
    if isinstance(value, bytes):
        return value[:4].hex() + ("…" if len(value) > 4 else "")
    if isinstance(value, (tuple, frozenset)) and len(value) > 4:
        return f"<{len(value)} items>"
    return repr(value)


_ENCODER = msgspec.msgpack.Encoder(order="deterministic")


def canonical_bytes(value: Any) -> bytes:
    """Deterministic MessagePack encoding of any msgspec-encodable value."""
    return _ENCODER.encode(value)


class MessageCodec:
    """Decodes bytes into one of a fixed set of message types, validating every field.

    Anything that is not exactly one of the known messages raises
    :class:`MalformedMessageError`; nothing half-decoded escapes.
    """

    def __init__(self, message_types: Iterable[type[Message]]) -> None:
        types = tuple(dict.fromkeys(message_types))
        if not types:
            raise ValueError("a codec needs at least one message type")
        self.message_types = types
        union = types[0] if len(types) == 1 else Union[types]  # noqa: UP007  # a runtime union of a tuple
        self._decoder = msgspec.msgpack.Decoder(union)
        self._json_decoder = msgspec.json.Decoder(union)

    def encode(self, message: Message) -> bytes:
        if not isinstance(message, self.message_types):
            raise MalformedMessageError(f"{type(message).__name__} is not a message of this protocol")
        return message.canonical()

    def decode(self, data: bytes) -> Message:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise MalformedMessageError(f"expected bytes, got {type(data).__name__}")
        try:
            return self._decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedMessageError(f"malformed message: {exc}") from None

    def to_json(self, message: Message) -> bytes:
        return msgspec.json.encode(message, order="deterministic")

    def from_json(self, data: bytes | str) -> Message:
        try:
            return self._json_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise MalformedMessageError(f"malformed message: {exc}") from None


class Envelope(NamedTuple):
    """A message in flight to ``to``."""

    to: AgentId
    message: Message

    def sort_key(self) -> tuple[str, bytes]:
        return (self.to, self.message.canonical())
