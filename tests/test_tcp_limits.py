"""Hostile peers against a TLS node: it keeps serving its real peers, its memory stays bounded, close() returns.

Every attack runs while a real three-node majority vote (a0, a1, a2, one per
node, node 0 attacked) runs over TLS on localhost; the vote must decide. Limits
are set small so each attack crosses them within the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from tcp_helpers import carry, cluster, impostor_context, majority, run_clean, vote

from benchmarks.tcp_hostile import NeverReads  # the far end that completes TLS, then never reads
from mabeam.core import Membership
from mabeam.protocols.majority import MajorityVoting
from mabeam.runtime import TcpTransport, TransportLimits, address_book, write_cluster
from mabeam.runtime.cluster import node_runtime
from mabeam.runtime.framing import encode_hello

ROOT = Path(__file__).resolve().parents[1]
FAST = {"handshake_timeout": 0.5, "read_timeout": 0.5, "idle_timeout": 2.0, "write_timeout": 0.5,
        "close_grace": 0.5, "connect_timeout": 0.5, "backoff": (0.02, 0.2)}
SMALL = {**FAST, "max_frame": 1 << 20, "max_buffered_bytes": 4 << 20, "max_connection_bytes": 2 << 20,
         "max_connections": 32, "max_connections_per_address": 32}


def traced() -> int:
    """Bytes Python has allocated now (tracemalloc: bytes, buffers and objects of every connection)."""
    return tracemalloc.get_traced_memory()[0]


async def served_despite(attack: Callable[[TcpTransport], Awaitable[Any]], limits: dict[str, Any] = SMALL,
                         settle: float = 0.3) -> dict[str, Any]:
    """Start three nodes, launch ``attack`` on node 0, run the vote, close; what was seen."""
    protocol = majority(3)
    keys = cluster(3)
    groups = [("a0",), ("a1",), ("a2",)]
    transports = [TcpTransport(protocol, g, tls=keys.tls_credentials(g), **limits) for g in groups]
    book = address_book(groups, [await t.start() for t in transports])
    for transport in transports:
        transport.connect(book)
    tracemalloc.start()
    before = traced()
    peak = {"memory": before, "connections": 0, "buffered": 0}

    async def watch() -> None:
        while True:
            peak["memory"] = max(peak["memory"], traced())
            peak["connections"] = max(peak["connections"], transports[0].connections)
            peak["buffered"] = max(peak["buffered"], transports[0].buffered_bytes)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    attacker = asyncio.create_task(attack(transports[0]))
    await asyncio.sleep(settle)  # the attack is under way before the vote starts
    started = time.perf_counter()
    results = await asyncio.gather(*(node_runtime(protocol, t, timeout=10).run() for t in transports))
    elapsed = time.perf_counter() - started
    attacker.cancel()
    watcher.cancel()
    await asyncio.gather(attacker, watcher, return_exceptions=True)
    peak["memory"] = max(peak["memory"], tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    return {"results": results, "transport": transports[0], "elapsed": elapsed,
            "memory_growth": peak["memory"] - before, "peak_connections": peak["connections"],
            "peak_buffered": peak["buffered"], "bound": TransportLimits().with_overrides(**limits).memory_bound()}


def assert_served(seen: dict[str, Any]) -> None:
    results = seen["results"]
    assert [r.status for r in results] == ["decided"] * 3, [r.rejected for r in results]
    assert {d.value for r in results for ds in r.decisions.values() for d in ds} == {"y"}
    assert seen["memory_growth"] <= seen["bound"], seen["memory_growth"]


async def hold(connections: list[Any]) -> None:
    try:
        await asyncio.sleep(3600)
    finally:
        for writer in connections:
            writer.transport.abort()


# ------------------------------------------------------------------ slow, truncated, idle, huge
@pytest.mark.timeout(60)
def test_slow_loris_connections_are_cut_at_the_handshake_or_read_deadline() -> None:
    async def attack(target: TcpTransport) -> None:
        writers = []
        for _ in range(5):  # strangers: one byte of a TLS record every 0.2 s
            _, writer = await asyncio.open_connection(*target.address)
            writers.append(writer)
        for member in ("a1", "a2"):  # members: a frame header, then one byte every 0.2 s
            _, writer = await asyncio.open_connection(*target.address, ssl=impostor_context(cluster(3), member))
            writer.write(encode_hello("s0", (member,)) + (1000).to_bytes(4, "big"))
            writers.append(writer)
        try:
            while True:
                for writer in writers:
                    if not writer.transport.is_closing():
                        writer.write(b"\x16")
                await asyncio.sleep(0.2)
        finally:
            for writer in writers:
                writer.transport.abort()

    seen = run_clean(lambda: served_despite(attack, settle=1.2))
    assert_served(seen)
    rejected = seen["transport"].rejections()
    assert rejected["handshake-timeout"] == 5 and rejected["read-timeout"] == 2


@pytest.mark.timeout(60)
def test_a_truncated_frame_ends_its_connection_and_is_counted() -> None:
    async def attack(target: TcpTransport) -> None:
        member = impostor_context(cluster(3), "a1")
        writers = []
        for member, hang_up in (("a1", False), ("a2", True)):
            _, writer = await asyncio.open_connection(*target.address, ssl=impostor_context(cluster(3), member))
            writer.write(encode_hello("s0", (member,)) + (100).to_bytes(4, "big") + b"x" * 10)  # 10 of 100 bytes
            await writer.drain()
            if hang_up:
                writer.close()  # the stream ends inside the frame
            writers.append(writer)
        await hold(writers)

    seen = run_clean(lambda: served_despite(attack, settle=1.0))
    assert_served(seen)
    rejected = seen["transport"].rejections()
    assert rejected["read-timeout"] == 1 and rejected["truncated-frame"] == 1


@pytest.mark.timeout(60)
def test_five_hundred_idle_connections_cannot_crowd_out_the_members() -> None:
    async def attack(target: TcpTransport) -> None:
        writers = []
        for _ in range(500):
            _, writer = await asyncio.open_connection(*target.address)
            writers.append(writer)
        await hold(writers)

    seen = run_clean(lambda: served_despite(attack, settle=1.5))
    assert_served(seen)
    assert seen["peak_connections"] <= SMALL["max_connections"]
    rejected = seen["transport"].rejections()
    evicted, timed_out = rejected.get("evicted-unauthenticated", 0), rejected.get("handshake-timeout", 0)
    assert evicted >= 500 - SMALL["max_connections"] and evicted + timed_out <= 500 + 2


@pytest.mark.timeout(60)
def test_a_one_gigabyte_length_prefix_is_refused_without_allocating_it() -> None:
    async def attack(target: TcpTransport) -> None:
        member = impostor_context(cluster(3), "a1")
        writers = []
        huge = (1 << 30).to_bytes(4, "big")
        for context in (None, member):  # a stranger's bytes end the handshake; a member's frame is refused
            _, writer = await asyncio.open_connection(*target.address, ssl=context)
            writer.write(encode_hello("s0", ("a1",)) + huge if context else huge + b"\x00")
            writers.append(writer)
        await hold(writers)

    seen = run_clean(lambda: served_despite(attack))
    assert_served(seen)
    assert seen["memory_growth"] < 16 << 20  # far below the gigabyte announced
    rejected = seen["transport"].rejections()
    assert rejected["oversize-frame"] == 1 and rejected["handshake-failed"] == 1


@pytest.mark.timeout(60)
def test_a_member_flooding_a_stalled_node_is_held_to_its_byte_budget_and_loses_nothing() -> None:
    """A member sends 48 frames of 1 MiB to a node whose runtime has stalled (handles nothing): the node holds
    at most its connection's share, the sender is pushed back by TCP; once handled, every frame arrives."""
    filler = vote("a1", "y" * ((1 << 20) - 200))
    keys = cluster(3)

    async def main() -> dict[str, Any]:
        node = TcpTransport(majority(3), ("a0",), tls=keys.tls_credentials(("a0",)), **SMALL)
        await node.start()
        delivered: list[Any] = []
        node.bind(lambda to, message, depth: delivered.append(message), lambda: 0.0, acknowledges=True)
        tracemalloc.start()
        before = traced()
        _, writer = await asyncio.open_connection(*node.address, ssl=impostor_context(keys, "a1"))
        writer.write(encode_hello("s0", ("a1",)))
        frame = carry("a0", filler)

        async def flood() -> None:
            for _ in range(48):
                writer.write(frame)
                await writer.drain()

        sender = asyncio.create_task(flood())
        await asyncio.sleep(1.0)
        stalled = {"delivered": len(delivered), "buffered": node.buffered_bytes,
                   "growth": tracemalloc.get_traced_memory()[1] - before, "sender_done": sender.done()}
        while not sender.done() or len(delivered) < 48:  # the runtime catches up: each handled frame frees room
            while delivered and len(delivered) > stalled.get("handled", 0):
                stalled["handled"] = stalled.get("handled", 0) + 1
                node.processed(delivered[stalled["handled"] - 1])
            await asyncio.sleep(0.01)
        tracemalloc.stop()
        writer.transport.abort()
        await node.close()
        return {**stalled, "total": len(delivered), "rejected": node.rejections()}

    seen = run_clean(main)
    assert not seen["sender_done"] and seen["delivered"] <= 2, seen  # its share is two frames; TCP pushed back
    assert seen["buffered"] <= SMALL["max_connection_bytes"]
    assert seen["growth"] <= TransportLimits().with_overrides(**SMALL).memory_bound(), seen
    assert seen["total"] == 48 and seen["rejected"] == {}


# ------------------------------------------------------------------ peers that misbehave at the other end
class Hostile:
    """A local far end that accepts and closes, completes TLS and never reads, or never accepts at all."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._server: asyncio.Server | None = None
        self._socks: list[socket.socket] = []
        self._thread: NeverReads | None = None

    async def start(self) -> tuple[str, int]:
        if self.kind == "black-hole":  # a full accept queue: SYNs are dropped, connects hang
            listener = socket.socket()
            listener.bind(("127.0.0.1", 0))
            listener.listen(0)
            self._socks.append(listener)
            for _ in range(3):
                filler = socket.socket()
                filler.setblocking(False)
                filler.connect_ex(listener.getsockname())
                self._socks.append(filler)
            return listener.getsockname()
        if self.kind == "never-reads":
            self._thread = NeverReads(cluster(3).tls_credentials(("a1",)).server_context("a1"))
            self._thread.start()
            return self._thread.listener.getsockname()
        self._server = await asyncio.start_server(lambda _, writer: writer.transport.abort(), "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[:2]

    async def stop(self) -> None:
        if self._thread is not None:
            await asyncio.to_thread(self._thread.stop)
        for sock in self._socks:
            sock.close()
        if self._server is not None:
            self._server.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["accepts-and-closes", "never-reads", "black-hole"])
def test_close_and_the_runtime_deadline_return_whatever_the_peer_does(kind: str) -> None:
    protocol = majority(3)
    keys = cluster(3)

    async def main() -> dict[str, float]:
        peer = Hostile(kind)
        address = await peer.start()
        measured: dict[str, float] = {}
        try:
            # a transport with a large backlog for the peer: close() must still return within a second
            transport = TcpTransport(protocol, ("a0",), {"a1": address, "a2": address},
                                     tls=keys.tls_credentials(("a0",)), **FAST, max_queue_bytes=64 << 20,
                                     max_frame=1 << 20)
            transport.bind(lambda *_: None, lambda: 0.0)
            big = vote("a0", "y" * ((1 << 20) - 200))
            for _ in range(40):
                transport.send("a0", "a1", big, 0)
            await asyncio.sleep(1.5)
            measured["connects_per_second"] = (transport.connects + transport.connect_failures) / 1.5
            measured["frames_sent"] = transport.frames_sent
            measured["write_timeouts"] = transport.rejections().get("write-timeout", 0)
            started = time.perf_counter()
            await transport.close()
            measured["close"] = time.perf_counter() - started
            # the runtime's own deadline, with this peer standing in for both other members
            runtime_transport = TcpTransport(protocol, ("a0",), {"a1": address, "a2": address},
                                             tls=keys.tls_credentials(("a0",)), **FAST)
            started = time.perf_counter()
            result = await node_runtime(protocol, runtime_transport, timeout=1.0).run()
            measured["runtime"] = time.perf_counter() - started
            assert result.status == "no-decision" and result.timed_out
        finally:
            await peer.stop()
        return measured

    measured = run_clean(main)
    if kind == "never-reads":  # it really never read: the link's writes stalled and timed out
        assert measured["frames_sent"] < 40 and measured["write_timeouts"] >= 1, measured
    assert measured["close"] < 1.0, measured
    assert measured["runtime"] < 2.0, measured
    assert measured["connects_per_second"] < 20, measured  # backoff, not ~400 reconnects a second


# ------------------------------------------------------------------ file descriptors
@pytest.mark.timeout(120)
def test_a_node_at_a_low_fd_limit_keeps_serving_under_a_connection_flood(tmp_path: Path) -> None:
    """The attacked node runs in its own process with 96 file descriptors; 600 connections hit it."""
    keys = cluster(3)
    write_cluster(keys, tmp_path / "c")
    limits = {**SMALL, "max_connections": 32, "max_connections_per_address": 32}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests")))}
    child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tcp_node.py"), "--keys", str(tmp_path / "c"),
                              "--local", "a0", "--nofile", "96", "--limits", json.dumps(limits), "--timeout", "15"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout is not None and child.stdin is not None
        port = json.loads(child.stdout.readline())["port"]
        protocol = MajorityVoting(Membership.of_size(3), {"a0": "x", "a1": "y", "a2": "y"})

        async def main() -> list[Any]:
            flood = []
            for _ in range(600):
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    flood.append(writer)
                except OSError:
                    break
            transports = [TcpTransport(protocol, (a,), tls=keys.tls_credentials((a,)), **FAST) for a in ("a1", "a2")]
            ports = [await t.start() for t in transports]
            book = {"a0": ("127.0.0.1", port), "a1": ports[0], "a2": ports[1]}
            child.stdin.write(json.dumps(book) + "\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
            for transport in transports:
                transport.connect(book)
            try:
                return list(await asyncio.gather(*(node_runtime(protocol, t, timeout=15).run() for t in transports)))
            finally:
                for writer in flood:
                    writer.transport.abort()

        results = run_clean(main)
        report = json.loads(child.stdout.readline())
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert [r.status for r in results] == ["decided", "decided"]
    assert report["status"] == "decided" and report["decisions"] == {"a0": ["y"]}, report
    assert report["nofile"] == 96 and report["peak_fds"] < 96 and report["peak_connections"] <= 32, report
    assert not any("out of system resource" in r for r in report["reports"]), report["reports"][:3]
    refused = report["rejected"].get("evicted-unauthenticated", 0) + report["rejected"].get("handshake-timeout", 0)
    assert refused >= 500, report
