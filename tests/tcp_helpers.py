"""Shared pieces of the TCP tests: key material, protocol builders, hostile raw peers, a clean event loop."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import os
import random
import socket
import ssl
from pathlib import Path
from typing import Any

import msgspec

from mabeam.core import Membership, Message
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.majority import Vote as MajorityVote
from mabeam.protocols.pbft import PBFTReplica
from mabeam.protocols.pbft.config import PBFTConfig, signed_requests
from mabeam.protocols.weighted import WeightedVoting
from mabeam.runtime import ClusterKeys, TcpTransport, generate_cluster
from mabeam.runtime.framing import Carry, encode_hello, frame

CLIENT = "client"


@functools.cache
def cluster(n: int, clients: tuple[str, ...] = (CLIENT,)) -> ClusterKeys:
    """Fresh key material for a0..a{n-1} (and the clients), made once per test process."""
    return generate_cluster(Membership.of_size(n).agents, clients)


def majority(n: int, session: str = "s0") -> MajorityVoting:
    return MajorityVoting(Membership.of_size(n), {f"a{i}": ("x" if i % 3 == 0 else "y") for i in range(n)},
                          session=session)


def weighted(session: str = "s0") -> WeightedVoting:
    """Byzantine-mode weighted vote, 7 agents of weight 1: 'y' from a0..a4 (5 of 7) wins, 'x' has weight 2."""
    membership = Membership.of_size(7)
    inputs = {a: ("x" if i >= 5 else "y") for i, a in enumerate(membership)}
    return WeightedVoting(membership, inputs, {a: 1 for a in membership}, mode="byzantine",
                          max_faulty_weight=2, session=session)


def pbft(n: int, value: str = "block-7", session: str = "s0", **config: Any) -> PBFTReplica:
    """PBFT with the cluster's deployer keys (this one process holds them all, as a test cluster does)."""
    keys = cluster(n)
    auth = keys.authenticator(keys.principals)
    settings = {"max_seq": 1, "max_view": 2, "base_timeout": 2.0, **config}
    return PBFTReplica(PBFTConfig(membership=Membership.of_size(n), f=(n - 1) // 3, auth=auth,
                                  requesters=(CLIENT,), requests=signed_requests(auth, session, [(CLIENT, value)]),
                                  session=session, **settings))


def tls_transport(protocol: Any, local: tuple[str, ...], **options: Any) -> TcpTransport:
    return TcpTransport(protocol, local, tls=cluster(protocol.n).tls_credentials(local), **options)


def run_clean(coroutine_factory: Any) -> Any:
    """Run in a fresh loop; fail on anything the loop reports or any task left behind."""
    reports: list[str] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reports.append(ctx["message"]))
        result = await coroutine_factory()
        await asyncio.sleep(0)
        left = asyncio.all_tasks() - {asyncio.current_task()}
        assert not left, left  # links and connections are all finished
        return result

    result = asyncio.run(main())
    gc.collect()
    assert reports == [], reports
    return result


def vote(sender: str, value: str = "y", session: str = "s0") -> MajorityVote:
    return MajorityVote(session=session, sender=sender, value=value)


_ENCODE = msgspec.msgpack.Encoder(order="deterministic").encode


def carry(to: str, message: Message | bytes, depth: int = 0) -> bytes:
    """One framed Carry holding ``message`` (or raw bytes standing for one)."""
    payload = message if isinstance(message, bytes) else message.canonical()
    return frame(_ENCODE(Carry(to, depth, payload)))


def _ephemeral_ports() -> range:
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except OSError:
        low, high = 32768, 60999
    return range(low, high + 1)


# Each test process walks its own shuffle of the ports below the ephemeral range, so xdist workers
# rarely try the same one.
_EPHEMERAL = _ephemeral_ports()
_CANDIDATES = [port for port in range(20000, 32768) if port not in _EPHEMERAL]
random.Random(os.getpid()).shuffle(_CANDIDATES)
_PORTS = iter(_CANDIDATES)


def free_port() -> int:
    """A free port a test can bind later, outside the kernel's ephemeral range.

    Why not bind port 0 and release it: the kernel hands the same port to the next bind(0) or outgoing
    connection of any process (a parallel test's), and the later bind fails with EADDRINUSE.
    """
    for port in _PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")


async def exchange(address: tuple[str, int], data: bytes, *, eof: bool = False, wait: float = 2.0,
                   ssl_context: ssl.SSLContext | None = None) -> bool:
    """Send ``data`` (then end the stream if ``eof``); whether the server hung up on us within ``wait``."""
    try:
        reader, writer = await asyncio.open_connection(*address, ssl=ssl_context)
    except (ssl.SSLError, ConnectionError):
        return True  # refused during the handshake: hung up
    try:
        writer.write(data)
        if eof:
            writer.write_eof()
        await writer.drain()
        try:
            closed = await asyncio.wait_for(reader.read(), wait) == b""
        except TimeoutError:
            closed = False
    except (ssl.SSLError, ConnectionError):
        closed = True
    writer.transport.abort()
    return closed


def impostor_context(keys: ClusterKeys, as_agent: str) -> ssl.SSLContext:
    """A client TLS context presenting ``as_agent``'s real certificate (a member's own credentials)."""
    return keys.tls_credentials((as_agent,)).client_context(as_agent)


def stranger_context() -> ssl.SSLContext:
    """A client TLS context with a certificate from another CA (knows the names, not the keys)."""
    other = generate_cluster(("a0", "a1", "a2", "a3"))
    return other.tls_credentials(("a0",)).client_context("a0")


async def send_as(address: tuple[str, int], context: ssl.SSLContext | None, hello_agents: tuple[str, ...],
                  frames: bytes, session: str = "s0", linger: float = 0.3) -> None:
    """Connect (TLS if ``context``), send a hello naming ``hello_agents`` and ``frames``, wait, hang up."""
    try:
        reader, writer = await asyncio.open_connection(*address, ssl=context)
    except (ssl.SSLError, ConnectionError):
        return
    try:
        writer.write(encode_hello(session, hello_agents) + frames)
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.read(), linger)
    except (ssl.SSLError, ConnectionError):
        pass
    writer.transport.abort()
