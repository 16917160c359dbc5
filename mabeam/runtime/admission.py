"""Which incoming connections a node keeps: caps per node, per peer address and per member identity.

A stranger can open connections faster than handshakes time out, so a cap
alone would let idle strangers lock members out. :class:`ConnectionTable`
therefore makes room by evicting: a connection over the node's or its
address's cap evicts the *oldest connection that has not authenticated yet*
(it is refused only when every connection in the way has authenticated), and
an authenticated member may hold at most ``per_identity`` connections, its
newest replacing its oldest (a member reconnects after its old link broke).
Authenticated connections are thus never displaced by unauthenticated ones.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..core.identity import AgentId
from .budget import ByteBudget

_ORDER = itertools.count()
#: how long a connection's task waits for its socket to close before aborting it
CLOSE_WAIT = 0.5


@dataclass(eq=False)
class Incoming:
    """One accepted connection: where from, its stream writer and, once authenticated, who it is."""

    address: str
    sock: socket.socket
    writer: asyncio.StreamWriter | None = None  # set once the socket is a stream; the TLS stream once upgraded
    reader: asyncio.StreamReader | None = None
    identity: frozenset[AgentId] | None = None
    aborted: bool = False
    task: asyncio.Task[None] | None = None  # the task serving it
    handed_over: bool = False  # an asyncio transport owns the socket (and will close it)
    #: the bytes of this connection's frames not yet handled (set once it authenticated)
    budget: ByteBudget | None = None
    order: int = field(default_factory=lambda: next(_ORDER))

    def abort(self) -> None:
        """Drop the connection at once (no TLS close_notify, no flushing: the peer may be hostile)."""
        self.aborted = True
        if self.budget is not None:
            self.budget.close()  # a read waiting for its share ends too
        if self.writer is not None:
            if not self.writer.transport.is_closing():
                self.writer.transport.abort()
        elif self.task is not None:
            self.task.cancel()  # mid-handshake: asyncio closes the socket as the handshake unwinds

    async def closed(self) -> None:
        """Close (promptly: the node never writes, so there is nothing to flush) and wait until the socket is."""
        writer = self.writer
        if writer is None:
            return  # the handshake failed: asyncio closed the socket
        if not writer.transport.is_closing():
            writer.close()
        try:
            async with asyncio.timeout(CLOSE_WAIT):
                await writer.wait_closed()
        except (TimeoutError, ConnectionError, OSError):
            writer.transport.abort()


class ConnectionTable:
    """The open incoming connections of one node, oldest first (see the module docstring)."""

    def __init__(self, total: int, per_address: int, per_identity: int) -> None:
        self.total, self.per_address, self.per_identity = total, per_address, per_identity
        self._open: dict[Incoming, None] = {}  # insertion order = age
        self.peak = 0

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[Incoming]:
        return iter(tuple(self._open))

    def admit(self, connection: Incoming) -> list[Incoming] | None:
        """Make room for ``connection``: the connections to evict, or ``None`` if it must be refused."""
        evicted: list[Incoming] = []
        same = [c for c in self._open if c.address == connection.address]
        if len(same) >= self.per_address:
            victim = self._oldest_pending(same, evicted)
            if victim is None:
                return None
            evicted.append(victim)
        if len(self._open) - len(evicted) >= self.total:
            victim = self._oldest_pending(self._open, evicted)
            if victim is None:
                return None
            evicted.append(victim)
        for victim in evicted:
            self.remove(victim)
        self._open[connection] = None
        self.peak = max(self.peak, len(self._open))
        return evicted

    def authenticate(self, connection: Incoming, identity: frozenset[AgentId]) -> list[Incoming]:
        """Record who ``connection`` is; returns that identity's older connections beyond the cap."""
        connection.identity = identity
        mine = [c for c in self._open if c.identity == identity]
        surplus = mine[:max(0, len(mine) - self.per_identity)]
        for old in surplus:
            self.remove(old)
        return surplus

    def remove(self, connection: Incoming) -> None:
        self._open.pop(connection, None)

    @staticmethod
    def _oldest_pending(candidates: Iterable[Incoming], excluded: list[Incoming]) -> Incoming | None:
        for c in candidates:
            if c.identity is None and c not in excluded:
                return c
        return None
