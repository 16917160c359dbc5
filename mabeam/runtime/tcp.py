"""A TCP transport: the runtime's agents split across OS processes, over mutually authenticated TLS 1.3.

Each :class:`TcpTransport` hosts some ``local`` agents of one protocol instance,
listens on one address and knows where every other agent listens (the address
book). Messages between local agents are handed over in-process; messages to
a remote agent are framed (:mod:`mabeam.runtime.framing`) and queued on an
outgoing link (:mod:`mabeam.runtime.links`) per sending identity and remote
address.

**Who may say what.** Every connection is TLS 1.3 with a certificate on both
sides, issued by the cluster CA (:mod:`mabeam.runtime.credentials`). The
identities the peer's certificate names, never its hello, decide which senders
its frames may carry: a frame whose message names another sender is refused
as ``spoofed-sender``. That channel binding is what authenticates protocols
whose messages carry no signature (majority and weighted votes: a vote's
``sender`` is the authenticated end of the connection it came on, exactly the
checked model's assumption, so their model-checked semantics are unchanged);
signed protocols (PBFT) are checked by signature as well, and their keys must
be the deployer's: an authenticator whose keys derive from a public string is
refused with :class:`~mabeam.core.errors.DerivedKeyError`. ``insecure=True``
runs plain TCP between loopback addresses for tests, believing the hello.

**Bounds.** Every timeout, connection cap and byte limit is in
:class:`~mabeam.runtime.limits.TransportLimits`. A frame's bytes stay
reserved against a per-connection and a total byte budget until the runtime
has handled the message (``bind(..., acknowledges=True)``), so a reader that
cannot keep up stops reading (TCP pushes back on the sender) instead of
growing. A message too large for ``max_frame`` is refused when the transport is
built (:class:`~mabeam.core.errors.MessageTooLargeError`).

**Refusals.** Everything a peer sends is checked before it reaches an agent:
connection errors (``connection-cap``, ``evicted-unauthenticated``,
``handshake-timeout``, ``handshake-failed``, ``read-timeout``, ``empty-frame``,
``oversize-frame``, ``truncated-frame``, ``undecodable-frame``,
``missing-hello``, ``repeated-hello``, ``wrong-session``, ``unknown-peer``,
``unauthenticated-hello``) close the connection; message errors
(``undecodable-message``, ``unknown-message-type``, ``invalid-message``,
``unknown-sender``, ``spoofed-sender``, ``unknown-recipient``) drop one message.
Each is counted by reason in :attr:`TcpTransport.rejected`, which the runtime
adds to its result; the node keeps serving. :meth:`TcpTransport.close` returns
within ``close_grace`` plus a fraction of a second whatever the peers do.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.errors import (
    ConfigurationError,
    CredentialError,
    DerivedKeyError,
    MalformedMessageError,
    MessageTooLargeError,
    UnknownAgentError,
)
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.protocol import Protocol
from ..core.rng import SeededRandom
from ..live.result import MessageStats
from .admission import ConnectionTable, Incoming
from .budget import ByteBudget
from .credentials import TlsCredentials, peer_identities
from .framing import (
    CARRY_OVERHEAD,
    HEADER,
    Carry,
    FrameError,
    Hello,
    IdleConnection,
    decode_frame,
    decode_message,
    encode_carry,
    encode_hello,
    read_body,
    read_frame,
    read_header,
)
from .limits import MAX_HELLO, READ_BUFFER, TransportLimits
from .links import STOP_WAIT, Link, LinkStats
from .listener import Listener
from .transport import Deliver, Transport

Address = tuple[str, int]
#: sockets the listener may hold beyond max_connections: evicted ones whose close is still under way
ACCEPT_SLACK = 8


async def _stream(sock: socket.socket, context: ssl.SSLContext | None
                  ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A stream pair on an accepted socket, after the server side of the TLS handshake if ``context``.

    ``loop.connect_accepted_socket`` does the handshake before any byte is read
    as plain data (upgrading a plain stream afterwards could lose the first
    record, and ``StreamWriter.start_tls`` fails when a peer leaves mid-handshake).
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_BUFFER, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, sock, ssl=context)
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def _first_byte(sock: socket.socket) -> None:
    """Wait until the peer has sent something: an idle stranger then costs a socket, not a TLS session's buffers."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), readable)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TcpTransport(Transport):
    """Moves messages between agents hosted by different processes (see the module docstring).

    ``tls`` is this node's :class:`~mabeam.runtime.credentials.TlsCredentials`
    (a certificate and key for each hosted agent, and the cluster CA). ``await
    start()`` binds the listening socket (``port=0``: an ephemeral port, read back
    from :attr:`address`) so peers can connect before the run; messages that
    arrive before the runtime binds are held (within ``max_early`` and
    ``max_early_bytes``). ``limits`` (or keyword overrides of it, such as
    ``max_frame=...``) bounds everything; ``rng`` is the seeded source of the
    reconnect jitter (default: derived from the session and the hosted agents).
    """

    def __init__(self, protocol: Protocol, local: Iterable[AgentId],
                 addresses: Mapping[AgentId, Address] | None = None, *, tls: TlsCredentials | None = None,
                 insecure: bool = False, host: str = "127.0.0.1", port: int = 0,
                 limits: TransportLimits | None = None, rng: SeededRandom | None = None,
                 **limit_overrides: Any) -> None:
        if not isinstance(protocol, Protocol):
            raise ConfigurationError(f"expected a Protocol, got {type(protocol).__name__}")
        self.protocol = protocol
        self.local = frozenset(protocol.membership.require(a) for a in local)
        if not self.local:
            raise ConfigurationError("a TCP transport must host at least one agent")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
            raise ConfigurationError(f"port must be in 0..65535, got {port!r}")
        if not isinstance(insecure, bool):
            raise ConfigurationError(f"insecure must be a bool, got {insecure!r}")
        self.limits = (limits or TransportLimits()).with_overrides(**limit_overrides)
        self.tls, self.insecure = tls, insecure
        self.host, self.port = host, port
        ordered = tuple(a for a in protocol.agents if a in self.local)
        self._check_security(ordered)
        self._check_sizes(ordered)
        self.rng = rng if rng is not None else SeededRandom(f"tcp/{protocol.session}/{','.join(ordered)}")
        self.addresses: dict[AgentId, Address] = {}
        self.connect(addresses or {})
        self.stats = MessageStats()
        #: refusals by reason (framing and message errors, caps, full queues, unknown addresses)
        self.rejected: Counter[str] = Counter()
        #: ordinary connection events that are nobody's fault (``idle-closed``, ``replaced``)
        self.events: Counter[str] = Counter()
        self.frames_received = 0
        self._link_stats = LinkStats()
        self._routes = self._plan_routes(ordered)
        self._links: dict[tuple[AgentId | None, Address], Link] = {}
        self._pending: dict[int, asyncio.Handle] = {}
        self._next_id = 0
        self._early: list[tuple[AgentId, Message, int]] = []
        self._early_bytes = 0
        self._deliver: Deliver | None = None
        self._acknowledges = False
        self._budget = ByteBudget(self.limits.max_buffered_bytes)
        self._held: dict[int, tuple[Message, int, ByteBudget]] = {}  # delivered, not yet handled by the runtime
        self._table = ConnectionTable(self.limits.max_connections, self.limits.max_connections_per_address,
                                      self.limits.max_connections_per_identity)
        self._listener: Listener | None = None
        self._serving: dict[asyncio.Task[None], Incoming] = {}
        self._closed = False

    # ------------------------------------------------------------- set-up checks
    def _check_security(self, ordered: tuple[AgentId, ...]) -> None:
        if self.tls is None and not self.insecure:
            raise CredentialError("TCP between nodes needs TLS credentials (TlsCredentials; `mabeam keygen` makes "
                                  "a cluster's); insecure=True runs plain TCP on loopback addresses, for tests only")
        if self.tls is not None:
            if self.insecure:
                raise ConfigurationError("insecure=True and TLS credentials exclude each other")
            if not isinstance(self.tls, TlsCredentials):
                raise CredentialError(f"tls must be TlsCredentials, got {type(self.tls).__name__}")
            for agent in ordered:
                if not any(agent in self.tls.identities(c) for c in self.tls.certificates):
                    raise CredentialError(f"no TLS certificate names hosted agent {agent!r}")
        elif not _loopback(self.host):
            raise ConfigurationError(f"insecure plain TCP listens on loopback addresses only, not {self.host!r}")
        auth = self.protocol.authenticator()
        if auth is None:
            return
        if auth.publicly_derived:
            raise DerivedKeyError(f"{type(auth).__name__} derives its keys from a public string: anyone could sign "
                                  "as any member; build the protocol with the deployer's keys "
                                  "(Ed25519Authenticator.from_keys, mabeam keygen)")
        for agent in ordered:
            if agent in auth.principals:
                try:
                    auth.signer(agent)
                except UnknownAgentError:
                    raise CredentialError(f"this node hosts {agent!r} but holds no signing key for it") from None

    def _check_sizes(self, ordered: tuple[AgentId, ...]) -> None:
        largest = self.protocol.largest_message_bytes(ordered)
        if largest + CARRY_OVERHEAD > self.limits.max_frame:
            raise MessageTooLargeError(
                f"{self.protocol.name} session {self.protocol.session!r}: a message of {largest} bytes "
                f"(+{CARRY_OVERHEAD} framing) exceeds max_frame={self.limits.max_frame}; raise max_frame "
                f"(and max_buffered_bytes, max_queue_bytes) or send a smaller value")

    def _plan_routes(self, ordered: tuple[AgentId, ...]) -> dict[AgentId, AgentId | None]:
        """Which certificate each hosted agent sends under (``None``: the one plain-TCP identity)."""
        if self.tls is None:
            return {a: None for a in ordered}
        routes: dict[AgentId, AgentId | None] = {}
        for agent in ordered:
            routes[agent] = agent if agent in self.tls.certificates else next(
                c for c in self.tls.certificates if agent in self.tls.identities(c))
        self._client_contexts = {key: self.tls.client_context(key) for key in set(routes.values()) if key}
        first = routes[ordered[0]]
        assert first is not None
        self._server_context = self.tls.server_context(first)
        return routes

    def _hello_for(self, key: AgentId | None) -> bytes:
        agents = tuple(a for a, k in self._routes.items() if k == key)
        return encode_hello(self.protocol.session, agents)

    # ------------------------------------------------------------- set-up
    async def start(self) -> Address:
        """Listen for peers; returns the bound (host, port)."""
        if self._closed:
            raise ConfigurationError("this transport is closed")
        if self._listener is None:
            self._listener = Listener.bind(self.host, self.port, backlog=min(self.limits.max_connections, 128),
                                           limit=self.limits.max_connections + ACCEPT_SLACK,
                                           accepted=self._on_socket)
            self.host, self.port = self._listener.address
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
            if self.insecure and not _loopback(address[0]):
                raise ConfigurationError(f"insecure plain TCP reaches loopback addresses only, not {address[0]!r}")
            if agent not in self.local:
                self.addresses[agent] = (address[0], address[1])

    def bind(self, deliver: Deliver, clock: Callable[[], float], *, acknowledges: bool = False) -> None:
        self._deliver = deliver
        self._acknowledges = acknowledges
        early, self._early, self._early_bytes = self._early, [], 0
        if early:  # after the runtime has queued its agents' starts
            asyncio.get_running_loop().call_soon(self._flush_early, early)

    def rejections(self) -> dict[str, int]:
        return dict(self.rejected + Counter(self._link_stats.refusals))

    # ------------------------------------------------------------- counters
    @property
    def frames_sent(self) -> int:
        return self._link_stats.frames_sent

    @property
    def connects(self) -> int:
        """Outgoing connections established (reconnects included)."""
        return self._link_stats.connects

    @property
    def connect_failures(self) -> int:
        return self._link_stats.connect_failures

    @property
    def connections(self) -> int:
        """Incoming connections open now."""
        return len(self._table)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of incoming frames being read or not yet handled by the runtime."""
        return self._budget.used

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
        if sender not in self._routes:
            self._drop("not-hosted")  # only hosted agents send from here
            return
        data = encode_carry(to, depth, message, self.protocol.codec)
        if len(data) - HEADER > self.limits.max_frame:
            self._drop("oversize-outgoing")
            return
        key = self._routes[sender]
        link = self._links.get((key, address))
        if link is None:
            link = self._links[(key, address)] = Link(
                address, self.limits, self._hello_for(key), None if key is None else self._client_contexts[key],
                lambda address=address: self._agents_at(address),  # type: ignore[misc]
                self.rng.derive(f"link/{key}/{address[0]}:{address[1]}"), self._link_stats)
        refused = link.push(data)
        if refused is not None:
            self._drop(refused)

    def _agents_at(self, address: Address) -> frozenset[AgentId]:
        return frozenset(a for a, where in self.addresses.items() if where == address)

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
                if not self._acknowledges:
                    self.processed(message)

    def processed(self, message: Message) -> None:
        """The runtime has handled ``message``: release the bytes its frame held."""
        held = self._held.pop(id(message), None)
        if held is not None and held[0] is message:
            self._release(held[1], held[2])

    def _release(self, length: int, own: ByteBudget) -> None:
        own.release(length)
        self._budget.release(length)

    # ------------------------------------------------------------- receiving
    def _on_socket(self, sock: socket.socket, address: str) -> None:
        """A socket the listener just accepted: admit it (evicting if need be) or refuse it, at once."""
        connection = Incoming(address, sock)
        evicted = None if self._closed else self._table.admit(connection)
        if evicted is None:
            if not self._closed:
                self.rejected["connection-cap"] += 1
            sock.close()
            self._release_socket()
            return
        for victim in evicted:
            self.rejected["evicted-unauthenticated"] += 1
            victim.abort()
        task = asyncio.get_running_loop().create_task(self._serve(connection), name=f"mabeam-tcp-in-{address}")
        connection.task = task
        self._serving[task] = connection
        task.add_done_callback(lambda _: self._finished(connection))

    def _finished(self, connection: Incoming) -> None:
        """A connection's task ended (even one cancelled before it ran): forget it, free its socket's slot."""
        self._table.remove(connection)
        if connection.task is not None:
            self._serving.pop(connection.task, None)
        if not connection.handed_over:
            connection.sock.close()  # no asyncio transport owns this socket: it is ours to close
        self._release_socket()

    def _release_socket(self) -> None:
        if self._listener is not None:
            self._listener.released()

    async def _serve(self, connection: Incoming) -> None:
        try:
            allowed = await self._handshake(connection)
            if allowed is not None:
                for old in self._table.authenticate(connection, allowed):
                    self.events["replaced"] += 1
                    old.abort()
                await self._frames(connection, allowed)
        except (ConnectionError, OSError):
            pass  # the peer went away; its link will reconnect if it has more to say
        finally:
            await connection.closed()

    async def _handshake(self, connection: Incoming) -> frozenset[AgentId] | None:
        """TLS, then the hello, within ``handshake_timeout``: the senders this connection may carry, or ``None``."""
        try:
            async with asyncio.timeout(self.limits.handshake_timeout):
                await _first_byte(connection.sock)
                connection.handed_over = True
                try:
                    connection.reader, connection.writer = await _stream(
                        connection.sock, self._server_context if self.tls is not None else None)
                except (ssl.SSLError, ConnectionError, OSError):
                    self.rejected["handshake-failed"] += 1  # no certificate, a wrong one, or not TLS at all
                    return None
                body = await read_frame(connection.reader, min(MAX_HELLO, self.limits.max_frame))
        except TimeoutError:
            self.rejected["handshake-timeout"] += 1
            return None
        except FrameError as exc:
            self.rejected[exc.reason] += 1
            return None
        if body is None:
            return None
        writer = connection.writer
        assert writer is not None
        try:
            hello = decode_frame(body)
        except FrameError as exc:
            self.rejected[exc.reason] += 1
            return None
        if not isinstance(hello, Hello):
            self.rejected["missing-hello"] += 1
            return None
        self.frames_received += 1
        authenticated = (peer_identities(writer.get_extra_info("ssl_object")) if self.tls is not None
                         else frozenset(hello.agents))
        reason = self._check_hello(hello, authenticated)
        if reason is not None:
            self.rejected[reason] += 1
            return None
        return authenticated & frozenset(self.protocol.agents) - self.local

    def _check_hello(self, hello: Hello, authenticated: frozenset[AgentId]) -> str | None:
        if hello.session != self.protocol.session:
            return "wrong-session"
        members = self.protocol.membership
        if not hello.agents or any(a not in members or a in self.local for a in hello.agents):
            return "unknown-peer"
        if not set(hello.agents) <= authenticated:
            return "unauthenticated-hello"  # names agents its certificate does not
        return None

    async def _frames(self, connection: Incoming, allowed: frozenset[AgentId]) -> None:
        """Read frames until the peer leaves, idles, or breaks the framing."""
        reader = connection.reader
        assert reader is not None
        limits = self.limits
        own = connection.budget = ByteBudget(limits.max_connection_bytes)
        while not self._closed:
            try:
                length = await read_header(reader, limits.max_frame, idle_timeout=limits.idle_timeout,
                                           read_timeout=limits.read_timeout)
                if length is None:
                    return
                await own.reserve(length)
                try:
                    await self._budget.reserve(length)
                except BaseException:
                    own.release(length)
                    raise
                try:
                    envelope = decode_frame(await read_body(reader, length, read_timeout=limits.read_timeout))
                except BaseException:
                    self._release(length, own)
                    raise
            except IdleConnection:
                self.events["idle-closed"] += 1
                return
            except FrameError as exc:
                self.rejected[exc.reason] += 1
                return
            self.frames_received += 1
            if isinstance(envelope, Hello):
                self._release(length, own)
                self.rejected["repeated-hello"] += 1
                return
            message = self._receive(envelope, allowed)
            if message is None:
                self._release(length, own)
                continue
            if self._deliver is None or self._acknowledges:
                self._held[id(message)] = (message, length, own)  # until handled (or flushed, if early)
            else:
                self._release(length, own)
            self._hand_over(envelope.to, message, envelope.depth)

    def _receive(self, carry: Carry, allowed: frozenset[AgentId]) -> Message | None:
        """The message ``carry`` holds if it passes every check, else ``None`` (the refusal counted)."""
        try:
            message = decode_message(self.protocol.codec, carry.message)
        except MalformedMessageError as exc:
            self.rejected[getattr(exc, "reason", "invalid-message")] += 1
            return None
        if message.sender not in self.protocol.membership:
            self.rejected["unknown-sender"] += 1
        elif message.sender not in allowed:
            self.rejected["spoofed-sender"] += 1
        elif carry.to not in self.local:
            self.rejected["unknown-recipient"] += 1
        else:
            return message
        return None

    def _hand_over(self, to: AgentId, message: Message, depth: int) -> None:
        if self._deliver is not None:
            self._deliver(to, message, depth)
            return
        size = len(message.canonical())
        if len(self._early) >= self.limits.max_early or self._early_bytes + size > self.limits.max_early_bytes:
            self.rejected["early-overflow"] += 1
            self.processed(message)
            return
        self._early.append((to, message, depth))
        self._early_bytes += size

    # ------------------------------------------------------------- shutdown
    async def close(self) -> None:
        """Stop: let connected links flush for up to ``close_grace``, then drop what is left and hang up.

        Returns within ``close_grace`` plus about half a second whatever the peers
        do (a peer that never reads, one that accepts and closes, a black hole).
        """
        if self._closed:
            return
        self._closed = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        links = list(self._links.values())
        for link in links:
            link.closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.close_grace
        while any(link.pending for link in links) and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for link in links:
            self.stats.dropped += link.clear()
        await asyncio.gather(*(link.stop() for link in links))
        if self._listener is not None:
            self._listener.close()
        self._budget.close()
        for connection in self._serving.values():
            connection.abort()  # its reads end at once and its task returns
        tasks = set(self._serving)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_WAIT)
            for task in late:  # not seen yet: never expected, but close() must return
                task.cancel()
        self._held.clear()
