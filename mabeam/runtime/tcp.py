"""A TCP transport: the runtime's agents split across OS processes on asyncio streams.

Each :class:`TcpTransport` hosts some ``local`` agents of one protocol instance,
listens on one address and knows where every other agent listens (the address
book). Messages between local agents are handed over in-process, like an ideal
in-process link; messages to a remote agent are framed (see
:mod:`mabeam.runtime.framing`) and queued on one outgoing connection per remote
address. A link that cannot connect, or loses its connection, retries with
exponential backoff (no jitter: a retry schedule is reproducible); frames wait
in a bounded queue meanwhile and are removed only once written, so a frame is
re-sent after a failed write. Bytes already inside a broken socket may be lost,
as on any lossy link; protocols that must survive loss carry their own timers.

Everything a peer sends is checked before it reaches an agent: framing errors
(``empty-frame``, ``oversize-frame``, ``truncated-frame``, ``undecodable-frame``,
``missing-hello``, ``repeated-hello``, ``wrong-session``, ``unknown-peer``)
close the connection; message errors (``undecodable-message``,
``unknown-message-type``, ``invalid-message``, ``unknown-sender``,
``spoofed-sender``: a sender the connection's hello did not name,
``unknown-recipient``) drop one message. Each refusal is counted by reason in
:attr:`TcpTransport.rejected`, which the runtime adds to its result; the node
keeps serving.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping

from ..core.errors import ConfigurationError, MalformedMessageError
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.protocol import Protocol
from ..live.result import MessageStats
from .framing import (
    DEFAULT_MAX_FRAME,
    HEADER,
    Carry,
    FrameError,
    Hello,
    decode_frame,
    decode_message,
    encode_carry,
    encode_hello,
    read_frame,
)
from .transport import Deliver, Transport

Address = tuple[str, int]


def _positive(name: str, value: object, kind: type | tuple[type, ...] = int) -> None:
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:  # type: ignore[operator]
        raise ConfigurationError(f"{name} must be positive, got {value!r}")


class TcpTransport(Transport):
    """Moves messages between agents hosted by different processes (see the module docstring).

    ``await start()`` binds the listening socket (``port=0``: an ephemeral port,
    read back from :attr:`address`) so peers can connect before the run; messages
    that arrive before the runtime binds are held (at most ``max_early``) and
    handed over once it does. ``max_frame`` bounds a frame's body in bytes,
    ``max_queue`` each outgoing link's queue; ``backoff`` is (first, longest)
    retry delay in seconds; ``close_grace`` is how long :meth:`close` lets a
    connected link flush its queue.
    """

    def __init__(self, protocol: Protocol, local: Iterable[AgentId],
                 addresses: Mapping[AgentId, Address] | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, max_frame: int = DEFAULT_MAX_FRAME, max_queue: int = 10_000,
                 max_early: int = 10_000, backoff: tuple[float, float] = (0.02, 0.5),
                 connect_timeout: float = 2.0, close_grace: float = 1.0) -> None:
        if not isinstance(protocol, Protocol):
            raise ConfigurationError(f"expected a Protocol, got {type(protocol).__name__}")
        self.protocol = protocol
        self.local = frozenset(protocol.membership.require(a) for a in local)
        if not self.local:
            raise ConfigurationError("a TCP transport must host at least one agent")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise ConfigurationError(f"port must be in 0..65535, got {port!r}")
        _positive("max_frame", max_frame)
        _positive("max_queue", max_queue)
        _positive("max_early", max_early)
        if len(backoff) != 2:
            raise ConfigurationError(f"backoff must be (first, longest) seconds, got {backoff!r}")
        for name, value in (("backoff", backoff[0]), ("backoff", backoff[1]),
                            ("connect_timeout", connect_timeout), ("close_grace", close_grace)):
            _positive(name, value, (int, float))
        self.host, self.port = host, port
        self.max_frame, self.max_queue, self.max_early = max_frame, max_queue, max_early
        self.backoff = (float(backoff[0]), float(max(backoff)))
        self.connect_timeout, self.close_grace = float(connect_timeout), float(close_grace)
        self.addresses: dict[AgentId, Address] = {}
        self.connect(addresses or {})
        self.stats = MessageStats()
        #: refusals by reason (framing and message errors, full queues, unknown addresses)
        self.rejected: Counter[str] = Counter()
        self.frames_sent = 0
        self.frames_received = 0
        self.connects = 0  # outgoing connections established (reconnects included)
        self.connect_failures = 0
        self._hello = encode_hello(protocol.session, tuple(a for a in protocol.agents if a in self.local))
        self._links: dict[Address, _Link] = {}
        self._pending: dict[int, asyncio.Handle] = {}
        self._next_id = 0
        self._early: list[tuple[AgentId, Message, int]] = []
        self._deliver: Deliver | None = None
        self._server: asyncio.Server | None = None
        self._serving: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closed = False

    # ------------------------------------------------------------- set-up
    async def start(self) -> Address:
        """Listen for peers; returns the bound (host, port)."""
        if self._closed:
            raise ConfigurationError("this transport is closed")
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
            self.host, self.port = self._server.sockets[0].getsockname()[:2]
        return self.address

    @property
    def address(self) -> Address:
        return (self.host, self.port)

    def connect(self, addresses: Mapping[AgentId, Address]) -> None:
        """Add or change where remote agents listen (local agents are skipped)."""
        for agent, address in addresses.items():
            self.protocol.membership.require(agent)
            if (not isinstance(address, (tuple, list)) or len(address) != 2
                    or not isinstance(address[0], str) or isinstance(address[1], bool)
                    or not isinstance(address[1], int) or not 0 < address[1] < 65536):
                raise ConfigurationError(f"the address of {agent} must be (host, port), got {address!r}")
            if agent not in self.local:
                self.addresses[agent] = (address[0], address[1])

    def bind(self, deliver: Deliver, clock: Callable[[], float]) -> None:
        self._deliver = deliver
        early, self._early = self._early, []
        if early:  # after the runtime has queued its agents' starts
            asyncio.get_running_loop().call_soon(self._flush_early, early)

    def rejections(self) -> dict[str, int]:
        return dict(self.rejected)

    # ------------------------------------------------------------- sending
    @property
    def in_flight(self) -> int:
        return len(self._pending) + sum(len(link.queue) for link in self._links.values())

    def send(self, sender: AgentId, to: AgentId, message: Message, depth: int) -> None:
        if self._closed:
            return
        self.stats.sent += 1
        if to in self.local:
            self._next_id += 1
            ident = self._next_id
            self._pending[ident] = asyncio.get_running_loop().call_soon(self._arrive, ident, to, message, depth)
            return
        address = self.addresses.get(to)
        if address is None:
            self._drop("no-address")
            return
        data = encode_carry(to, depth, message, self.protocol.codec)
        if len(data) - HEADER > self.max_frame:
            self._drop("oversize-outgoing")
            return
        link = self._links.get(address)
        if link is None:
            link = self._links[address] = _Link(self, address)
        if not link.push(data):
            self._drop("queue-overflow")

    def _drop(self, reason: str) -> None:
        self.rejected[reason] += 1
        self.stats.dropped += 1

    def _arrive(self, ident: int, to: AgentId, message: Message, depth: int) -> None:
        del self._pending[ident]
        assert self._deliver is not None, "transport used before bind()"
        self._deliver(to, message, depth)

    def _flush_early(self, early: list[tuple[AgentId, Message, int]]) -> None:
        if not self._closed and self._deliver is not None:
            for to, message, depth in early:
                self._deliver(to, message, depth)

    # ------------------------------------------------------------- receiving
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._serving[task] = writer
        peer: frozenset[AgentId] | None = None
        try:
            while not self._closed:
                try:
                    body = await read_frame(reader, self.max_frame)
                    if body is None:
                        break
                    envelope = decode_frame(body)
                except FrameError as exc:
                    self.rejected[exc.reason] += 1
                    break
                self.frames_received += 1
                if isinstance(envelope, Hello):
                    reason = "repeated-hello" if peer is not None else self._check_hello(envelope)
                    if reason is not None:
                        self.rejected[reason] += 1
                        break
                    peer = frozenset(envelope.agents)
                elif peer is None:
                    self.rejected["missing-hello"] += 1
                    break
                else:
                    self._receive(envelope, peer)
        except (ConnectionError, OSError):
            pass  # the peer went away; its link will reconnect if it has more to say
        finally:
            writer.close()
            self._serving.pop(task, None)

    def _check_hello(self, hello: Hello) -> str | None:
        if hello.session != self.protocol.session:
            return "wrong-session"
        members = self.protocol.membership
        if not hello.agents or any(a not in members or a in self.local for a in hello.agents):
            return "unknown-peer"
        return None

    def _receive(self, carry: Carry, peer: frozenset[AgentId]) -> None:
        try:
            message = decode_message(self.protocol.codec, carry.message)
        except MalformedMessageError as exc:
            self.rejected[getattr(exc, "reason", "invalid-message")] += 1
            return
        if message.sender not in self.protocol.membership:
            self.rejected["unknown-sender"] += 1
        elif message.sender not in peer:
            self.rejected["spoofed-sender"] += 1
        elif carry.to not in self.local:
            self.rejected["unknown-recipient"] += 1
        elif self._deliver is None:
            if len(self._early) >= self.max_early:
                self.rejected["early-overflow"] += 1
            else:
                self._early.append((carry.to, message, carry.depth))
        else:
            self._deliver(carry.to, message, carry.depth)

    # ------------------------------------------------------------- shutdown
    async def close(self) -> None:
        """Stop: let links flush for up to ``close_grace`` (a peer found unreachable meanwhile is given
        up at once), then drop what is left and hang up."""
        if self._closed:
            return
        self._closed = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.close_grace
        while any(link.queue and not link.abandoned for link in self._links.values()) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for link in self._links.values():
            self.stats.dropped += len(link.queue)
            link.queue.clear()
            await link.stop()
        if self._server is not None:
            self._server.close()
        for writer in self._serving.values():
            writer.close()  # the reader sees end of stream and the connection's task returns
        if self._serving:
            _, late = await asyncio.wait(set(self._serving), timeout=self.close_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


class _Link:
    """One outgoing connection to one remote address, with its queue and its reconnect loop."""

    def __init__(self, owner: TcpTransport, address: Address) -> None:
        self.owner = owner
        self.address = address
        self.queue: deque[bytes] = deque()
        self.connected = False
        self.abandoned = False  # the transport is closing and the peer cannot be reached: stop trying
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def push(self, data: bytes) -> bool:
        if len(self.queue) >= self.owner.max_queue:
            return False
        self.queue.append(data)
        self._wake.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mabeam-tcp-{self.address}")
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        owner = self.owner
        first, longest = owner.backoff
        delay = first
        while True:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(*self.address),
                                                        owner.connect_timeout)
            except (OSError, TimeoutError):
                owner.connect_failures += 1
                if owner._closed:
                    self.abandoned = True
                    return
                await asyncio.sleep(delay)
                delay = min(2 * delay, longest)
                continue
            owner.connects += 1
            delay = first
            self.connected = True
            hangup = asyncio.ensure_future(reader.read(1))  # peers never answer: this ends at EOF/reset
            try:
                writer.write(owner._hello)
                await self._pump(writer, hangup)
            except (OSError, ConnectionError):
                pass
            finally:
                self.connected = False
                if hangup.done() and not hangup.cancelled():
                    hangup.exception()  # retrieved: a reset peer is expected, not an error to log
                hangup.cancel()
                writer.close()

    async def _pump(self, writer: asyncio.StreamWriter, hangup: asyncio.Future[bytes]) -> None:
        """Write queued frames until the peer hangs up; a frame leaves the queue only once written."""
        while True:
            if not self.queue:
                self._wake.clear()
                wake = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait((wake, hangup), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    wake.cancel()
            if hangup.done():
                return
            batch = len(self.queue)
            writer.write(b"".join(self.queue))
            await writer.drain()
            for _ in range(batch):
                self.queue.popleft()
            self.owner.frames_sent += batch
