"""The TCP wire format: length-prefixed frames around msgspec-typed envelopes.

A frame is a 4-byte big-endian length followed by that many bytes of
MessagePack. The first frame on a connection is a :class:`Hello` naming the
session and the agents the connecting process hosts; every later frame is a
:class:`Carry` holding the recipient, the causal depth and the message's own
canonical bytes (the very bytes a signature covers), decoded on arrival by the
protocol's :class:`~mabeam.core.messages.MessageCodec`. Decoding is strict at
both layers: anything that is not exactly a known frame or message is refused
with a named reason, never half-decoded.

Reading is bounded in time as well as size: :func:`read_header` waits at most
an idle timeout for a frame's first byte and then a read timeout for the rest
of the header; :func:`read_body` a read timeout for the body. A slow or
truncated frame thus ends as ``read-timeout`` or ``truncated-frame``, never as
a connection held open for ever.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec

from ..core.errors import MalformedMessageError
from ..core.messages import Message, MessageCodec
from .limits import DEFAULT_MAX_FRAME

__all__ = ["CARRY_OVERHEAD", "DEFAULT_MAX_FRAME", "HEADER", "Carry", "FrameError", "Hello", "IdleConnection",
           "decode_frame", "decode_message", "encode_carry", "encode_hello", "frame", "read_body", "read_frame",
           "read_header"]

HEADER = 4
#: what a Carry adds around a message's bytes, at most (tag, a 64-character recipient, a 64-bit depth, headers)
CARRY_OVERHEAD = 96


class Hello(msgspec.Struct, frozen=True, tag="hello", array_like=True):
    """Who is on the other end of a connection: its session and the agents it hosts."""

    session: str
    agents: tuple[str, ...]


class Carry(msgspec.Struct, frozen=True, tag="carry", array_like=True):
    """One message for one local agent; ``message`` is its canonical encoding."""

    to: str
    depth: Annotated[int, msgspec.Meta(ge=0)]
    message: bytes


Frame = Hello | Carry
_ENCODER = msgspec.msgpack.Encoder(order="deterministic")
_DECODER = msgspec.msgpack.Decoder(Frame)


class FrameError(MalformedMessageError):
    """A frame that breaks the framing itself; the connection that sent it is closed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def frame(body: bytes) -> bytes:
    """``body`` with its 4-byte big-endian length in front."""
    return len(body).to_bytes(HEADER, "big") + body


def encode_hello(session: str, agents: tuple[str, ...]) -> bytes:
    return frame(_ENCODER.encode(Hello(session, agents)))


def encode_carry(to: str, depth: int, message: Message, codec: MessageCodec) -> bytes:
    return frame(_ENCODER.encode(Carry(to, depth, codec.encode(message))))


class IdleConnection(Exception):
    """No frame began within the idle timeout (not an error of the peer's: the connection is just closed)."""


async def read_header(reader: asyncio.StreamReader, max_frame: int, *, idle_timeout: float | None = None,
                      read_timeout: float | None = None) -> int | None:
    """The next frame's announced length, ``None`` at a clean end of stream, or :class:`FrameError`.

    The first byte may take up to ``idle_timeout`` (:class:`IdleConnection` after
    that), the other three ``read_timeout`` more (``read-timeout``).
    """
    try:
        async with asyncio.timeout(idle_timeout):
            first = await reader.read(1)
    except TimeoutError:
        raise IdleConnection() from None
    if not first:
        return None
    try:
        async with asyncio.timeout(read_timeout):
            rest = await reader.readexactly(HEADER - 1)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("truncated-frame", f"{1 + len(exc.partial)} of {HEADER} header bytes") from None
    except TimeoutError:
        raise FrameError("read-timeout", "a frame header stalled") from None
    length = int.from_bytes(first + rest, "big")
    if length == 0:
        raise FrameError("empty-frame")
    if length > max_frame:
        raise FrameError("oversize-frame", f"{length} bytes > {max_frame}")
    return length


async def read_body(reader: asyncio.StreamReader, length: int, *, read_timeout: float | None = None) -> bytes:
    """A frame body of ``length`` bytes within ``read_timeout`` (``read-timeout``, ``truncated-frame``)."""
    try:
        async with asyncio.timeout(read_timeout):
            return await reader.readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise FrameError("truncated-frame", f"{len(exc.partial)} of {length} bytes") from None
    except TimeoutError:
        raise FrameError("read-timeout", f"a {length}-byte frame stalled") from None


async def read_frame(reader: asyncio.StreamReader, max_frame: int, *, idle_timeout: float | None = None,
                     read_timeout: float | None = None) -> bytes | None:
    """The next frame's body, ``None`` at a clean end of stream, or :class:`FrameError`."""
    length = await read_header(reader, max_frame, idle_timeout=idle_timeout, read_timeout=read_timeout)
    if length is None:
        return None
    return await read_body(reader, length, read_timeout=read_timeout)


def decode_frame(body: bytes) -> Hello | Carry:
    """The envelope a frame carries, or :class:`FrameError` ``undecodable-frame``."""
    try:
        return _DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise FrameError("undecodable-frame", str(exc)) from None


def decode_message(codec: MessageCodec, data: bytes) -> Message:
    """The protocol message in ``data``; :class:`MalformedMessageError` with ``reason`` set if not.

    The reason tells apart bytes that are not MessagePack at all
    (``undecodable-message``), a well-formed message of a kind this protocol does
    not have (``unknown-message-type``) and a known kind with bad fields
    (``invalid-message``).
    """
    try:
        return codec.decode(data)
    except MalformedMessageError as exc:
        error = MalformedMessageError(str(exc))
        error.reason = _why(codec, data)  # type: ignore[attr-defined]
        raise error from None


def _why(codec: MessageCodec, data: bytes) -> str:
    try:
        raw: Any = msgspec.msgpack.decode(data)
    except msgspec.DecodeError:
        return "undecodable-message"
    tags = {t.__struct_config__.tag for t in codec.message_types}
    field = codec.message_types[0].__struct_config__.tag_field
    tag = raw.get(field) if isinstance(raw, dict) else None
    return "invalid-message" if tag in tags else "unknown-message-type"
