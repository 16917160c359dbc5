"""The bounds a TCP node keeps whatever its peers do: time, connections and bytes.

Every number a hostile peer could otherwise push without limit has a ceiling
here, checked once when the transport is built (:class:`TransportLimits`):

- time: a TLS handshake plus hello must finish within ``handshake_timeout``; a
  frame, once its first byte arrived, within ``read_timeout`` (slow-loris,
  truncated frames); a connection that carries no frame for ``idle_timeout`` is
  closed (an honest link closes itself after half of that and reconnects when it
  has something to say); a write must drain within ``write_timeout`` (a peer that
  never reads).
- connections: at most ``max_connections`` incoming connections at once, at most
  ``max_connections_per_address`` from one IP address and
  ``max_connections_per_identity`` per authenticated member. A connection over a
  cap evicts the oldest connection that has not authenticated yet (so idle
  strangers cannot crowd out a member reconnecting), and is refused if there is
  none; a member's newer connection replaces its oldest.
- bytes: a frame body is at most ``max_frame``; frames being read on all
  connections together hold at most ``max_buffered_bytes``; each outgoing link
  queues at most ``max_queue`` frames and ``max_queue_bytes``; messages that
  arrive before the runtime binds at most ``max_early`` and ``max_early_bytes``.
  A frame's bytes count against ``max_connection_bytes`` (its connection's share)
  and ``max_buffered_bytes`` (the node's) from the moment its header is read
  until the runtime has handled the message; a connection over either waits,
  unread, so TCP flow control pushes back on the sender.

:meth:`TransportLimits.memory_bound` states what these ceilings add up to.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigurationError

#: frames longer than this are refused (and the connection closed) unless configured otherwise
DEFAULT_MAX_FRAME = 1 << 20
#: a hello names a session and some agents: far below any frame limit
MAX_HELLO = 1 << 16
#: the StreamReader buffer of one connection (asyncio pauses the socket above twice this)
READ_BUFFER = 1 << 16
#: what asyncio and OpenSSL hold per TLS connection besides the frame being read (measured upper bound)
CONNECTION_OVERHEAD = 3 * (1 << 18)


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")


def _positive_time(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")


@dataclass(frozen=True)
class TransportLimits:
    """The ceilings of one :class:`~mabeam.runtime.tcp.TcpTransport` (see the module docstring)."""

    max_frame: int = DEFAULT_MAX_FRAME
    max_buffered_bytes: int = 16 << 20
    #: what one connection's frames may hold of max_buffered_bytes (one member cannot take it all)
    max_connection_bytes: int = 4 << 20
    max_queue: int = 10_000
    max_queue_bytes: int = 8 << 20
    max_early: int = 10_000
    max_early_bytes: int = 8 << 20
    max_connections: int = 64
    max_connections_per_address: int = 32
    max_connections_per_identity: int = 2
    handshake_timeout: float = 5.0
    read_timeout: float = 10.0
    idle_timeout: float = 60.0
    write_timeout: float = 10.0
    connect_timeout: float = 2.0
    #: (first, longest) reconnect delay in seconds; each retry doubles it, with jitter
    backoff: tuple[float, float] = (0.02, 0.5)
    #: how long close() lets connected links flush their queues before hanging up
    close_grace: float = 0.5

    def __post_init__(self) -> None:
        for name in ("max_frame", "max_buffered_bytes", "max_connection_bytes", "max_queue", "max_queue_bytes",
                     "max_early", "max_early_bytes", "max_connections", "max_connections_per_address",
                     "max_connections_per_identity"):
            _positive_int(name, getattr(self, name))
        for name in ("handshake_timeout", "read_timeout", "idle_timeout", "write_timeout", "connect_timeout",
                     "close_grace"):
            _positive_time(name, getattr(self, name))
        if not isinstance(self.backoff, tuple) or len(self.backoff) != 2:
            raise ConfigurationError(f"backoff must be (first, longest) seconds, got {self.backoff!r}")
        for value in self.backoff:
            _positive_time("backoff", value)
        if self.backoff[0] > self.backoff[1]:
            raise ConfigurationError(f"backoff must be (first, longest) with first <= longest, got {self.backoff!r}")
        for name in ("max_buffered_bytes", "max_connection_bytes", "max_queue_bytes"):
            if getattr(self, name) < self.max_frame:
                raise ConfigurationError(f"{name} ({getattr(self, name)}) must hold at least one frame "
                                         f"(max_frame={self.max_frame})")
        if self.max_connection_bytes > self.max_buffered_bytes:
            raise ConfigurationError("max_connection_bytes cannot exceed max_buffered_bytes")
        if self.max_connections_per_address > self.max_connections:
            raise ConfigurationError("max_connections_per_address cannot exceed max_connections")

    def with_overrides(self, **overrides: Any) -> TransportLimits:
        """A copy with some limits changed (unknown names are a :class:`ConfigurationError`)."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigurationError(f"unknown transport limits {unknown}; known: {sorted(known)}")
        if "backoff" in overrides and isinstance(overrides["backoff"], list):
            overrides["backoff"] = tuple(overrides["backoff"])
        return dataclasses.replace(self, **overrides)

    def memory_bound(self) -> int:
        """Bytes the transport may hold for its incoming side: frames being read plus per-connection buffers.

        Outgoing queues add at most ``max_queue_bytes`` per remote address, and early
        messages ``max_early_bytes``; both are fixed by configuration, not by peers.
        """
        return self.max_buffered_bytes + self.max_connections * (2 * READ_BUFFER + CONNECTION_OVERHEAD)
