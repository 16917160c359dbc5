"""One outgoing TCP link: a bounded queue of frames and the loop that (re)connects and writes them.

A link belongs to one sending identity (the certificate it presents) and one
remote address. It connects only when it has frames to send, checks that the
server's certificate names an agent the address book places at that address,
sends its hello, then writes queued frames in chunks of at most
:data:`WRITE_CHUNK` bytes (or one frame), each drained before the next, so what
sits in the socket's buffers stays bounded too; a frame leaves the queue only
once written, so it is re-sent after a failed write. Every wait is bounded: the
connect and handshake by ``connect_timeout`` plus ``handshake_timeout``, each
write by ``write_timeout`` (a peer that never reads), and a link with nothing
to send closes itself after half the idle timeout.

A connection that fails, or ends sooner than the longest backoff after it was
made (a peer that accepts and closes), makes the next attempt wait longer:
exponential backoff with jitter drawn from the seeded random source the
transport was given, capped at the longest delay. :meth:`Link.stop` ends the
loop wherever it is and drops the connection without waiting for the peer.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.identity import AgentId
from ..core.rng import SeededRandom
from .credentials import peer_identities
from .limits import READ_BUFFER, TransportLimits

if TYPE_CHECKING:
    from .tcp import Address

#: how long stop() waits for the cancelled loop to unwind before abandoning it
STOP_WAIT = 0.2
#: the most bytes handed to the socket per write: over TLS, one write is encrypted and buffered whole before
#: flow control can pause it, so writes stay small (one frame beyond this, at most) and each is drained
WRITE_CHUNK = 1 << 16


def backoff_delay(attempt: int, first: float, longest: float, rng: SeededRandom) -> float:
    """The wait before retry ``attempt`` (0-based): half of ``min(longest, first * 2**attempt)``, plus up to
    the other half drawn from ``rng`` (jitter keeps restarted peers from reconnecting in lockstep)."""
    ceiling = min(longest, first * 2 ** min(attempt, 32))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class LinkStats:
    """Counters a link reports to its transport."""

    __slots__ = ("connect_failures", "connects", "frames_sent", "refusals")

    def __init__(self) -> None:
        self.connects = 0
        self.connect_failures = 0
        self.frames_sent = 0
        self.refusals: dict[str, int] = {}


class Link:
    """Frames from one identity to one address (see the module docstring)."""

    def __init__(self, address: Address, limits: TransportLimits, hello: bytes, context: ssl.SSLContext | None,
                 expected: Callable[[], frozenset[AgentId]], rng: SeededRandom, stats: LinkStats) -> None:
        self.address = address
        self.limits = limits
        self.hello = hello
        self.context = context
        self.expected = expected  # the agents the address book places at ``address`` (read at each connect)
        self.rng = rng
        self.stats = stats
        self.queue: deque[bytes] = deque()
        self.queued_bytes = 0
        self.connected = False
        self.closing = False  # the transport is closing: one failed connect ends the link
        self.abandoned = False  # it was closing and the peer could not be reached: nothing will be sent
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.StreamReader | None = None

    # -------------------------------------------------------------- queue
    def push(self, data: bytes) -> str | None:
        """Queue one frame; the reason it was refused, or ``None``."""
        if len(self.queue) >= self.limits.max_queue:
            return "queue-overflow"
        if self.queued_bytes + len(data) > self.limits.max_queue_bytes:
            return "queue-bytes-overflow"
        self.queue.append(data)
        self.queued_bytes += len(data)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mabeam-tcp-{self.address}")
        return None

    def clear(self) -> int:
        """Drop every queued frame; how many there were."""
        dropped = len(self.queue)
        self.queue.clear()
        self.queued_bytes = 0
        return dropped

    @property
    def pending(self) -> bool:
        """Frames wait and the link may still deliver them."""
        return bool(self.queue) and not self.abandoned

    async def stop(self) -> None:
        """End the loop and drop the connection; returns within :data:`STOP_WAIT` seconds."""
        self.abandoned = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_WAIT)
        self._drop()

    # -------------------------------------------------------------- loop
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        limits = self.limits
        first, longest = limits.backoff
        attempt = 0
        while not self.abandoned:
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            opened = loop.time()
            if await self._connect():
                try:
                    await self._pump()
                except (OSError, TimeoutError):
                    pass  # reset, or a write that did not drain in time: reconnect and re-send
                finally:
                    self._drop()
                if loop.time() - opened >= longest:
                    attempt = 0  # it lasted: the peer is healthy
                    continue
            elif self.closing:
                self.abandoned = True
                return
            await asyncio.sleep(backoff_delay(attempt, first, longest, self.rng))
            attempt += 1

    async def _connect(self) -> bool:
        limits = self.limits
        host, port = self.address
        try:
            async with asyncio.timeout(limits.connect_timeout + limits.handshake_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self.context, limit=READ_BUFFER,
                    ssl_handshake_timeout=limits.handshake_timeout if self.context is not None else None)
        except (OSError, TimeoutError):
            self.stats.connect_failures += 1
            return False
        self._writer, self._reader = writer, reader
        if self.context is not None and not peer_identities(writer.get_extra_info("ssl_object")) & self.expected():
            self._refused("wrong-peer")  # a certificate, but not one of the agents we meant to reach
            self.stats.connect_failures += 1
            self._drop()
            return False
        self.stats.connects += 1
        self.connected = True
        return True

    async def _pump(self) -> None:
        """Write the hello, then queued frames, until the peer hangs up or the link idles."""
        writer, reader = self._writer, self._reader
        assert writer is not None and reader is not None
        hangup = asyncio.ensure_future(reader.read(1))  # peers never answer: this ends at EOF or reset
        try:
            writer.write(self.hello)
            while True:
                if not self.queue:
                    self._wake.clear()
                    wake = asyncio.ensure_future(self._wake.wait())
                    try:
                        done, _ = await asyncio.wait((wake, hangup), timeout=self.limits.idle_timeout / 2,
                                                     return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        wake.cancel()
                    if not done:
                        return  # idle: close before the server's idle timeout does; reconnect on demand
                if hangup.done():
                    return
                batch, size = 0, 0
                for frame in self.queue:  # small frames travel together, a large one alone
                    if batch and size + len(frame) > WRITE_CHUNK:
                        break
                    batch, size = batch + 1, size + len(frame)
                data = b"".join(itertools.islice(self.queue, batch))
                writer.write(data)
                try:
                    async with asyncio.timeout(self.limits.write_timeout):
                        await writer.drain()
                except TimeoutError:
                    self._refused("write-timeout")
                    raise
                for _ in range(batch):
                    self.queue.popleft()
                self.queued_bytes -= len(data)
                self.stats.frames_sent += batch
        finally:
            if hangup.done() and not hangup.cancelled():
                hangup.exception()  # retrieved: a reset peer is expected, not an error to log
            hangup.cancel()

    def _drop(self) -> None:
        self.connected = False
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None and not writer.transport.is_closing():
            writer.transport.abort()

    def _refused(self, reason: str) -> None:
        self.stats.refusals[reason] = self.stats.refusals.get(reason, 0) + 1
