"""TCP node under hostile peers: how long close() and the run deadline take, reconnect rates, memory.

    python -m benchmarks.tcp_hostile          # a readable table
    python -m benchmarks.tcp_hostile --json   # one JSON object

All on 127.0.0.1, over mutual TLS 1.3 with freshly generated keys. For each
far end a node may face (one that accepts and closes, one that completes TLS
with a member's certificate and never reads, a black hole whose accept queue
is full) it measures: ``close()`` of a transport with 40 MiB queued for it,
the wall time of a node run whose deadline is 1 s, and the reconnect attempts
per second. Then a three-node majority vote while 500 idle connections hit
node 0: the time to decide, node 0's peak open connections, and the Python
memory the node allocated (tracemalloc) against ``TransportLimits.memory_bound``.
The tests (tests/test_tcp_limits.py) assert the bounds; this reports figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import ssl
import threading
import time
import tracemalloc
from typing import Any

from mabeam.core import Membership
from mabeam.protocols.majority import MajorityVoting, Vote
from mabeam.runtime import TcpTransport, TransportLimits, address_book, generate_cluster, node_runtime

FAST = {"handshake_timeout": 0.5, "read_timeout": 0.5, "idle_timeout": 2.0, "write_timeout": 0.5,
        "close_grace": 0.5, "connect_timeout": 0.5, "backoff": (0.02, 0.2)}
SMALL = {**FAST, "max_buffered_bytes": 4 << 20, "max_connection_bytes": 2 << 20, "max_connections": 32,
         "max_connections_per_address": 32}


def protocol() -> MajorityVoting:
    return MajorityVoting(Membership.of_size(3), {"a0": "x", "a1": "y", "a2": "y"})


class NeverReads(threading.Thread):
    """Completes TLS with a member's certificate in its own thread, then never reads (a 4 KiB receive buffer)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(daemon=True)
        self.context = context
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.05)
        self.stopping = threading.Event()
        self.held: list[socket.socket] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            conn.settimeout(2.0)
            try:
                self.held.append(self.context.wrap_socket(conn, server_side=True))
            except (ssl.SSLError, OSError):
                conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=2)
        for sock in (*self.held, self.listener):
            sock.close()


async def hostile_peer(kind: str, keys: Any) -> tuple[tuple[str, int], Any]:
    """Start a far end of ``kind``; returns its address and a function that stops it."""
    if kind == "black-hole":
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)

        async def stop_hole() -> None:
            for s in (listener, *fillers):
                s.close()
        return listener.getsockname(), stop_hole
    if kind == "never-reads":
        thread = NeverReads(keys.tls_credentials(("a1",)).server_context("a1"))
        thread.start()

        async def stop_thread() -> None:
            await asyncio.to_thread(thread.stop)
        return thread.listener.getsockname(), stop_thread
    server = await asyncio.start_server(lambda _, writer: writer.transport.abort(), "127.0.0.1", 0)

    async def stop_server() -> None:
        server.close()
    return server.sockets[0].getsockname()[:2], stop_server


async def far_end(kind: str, keys: Any) -> dict[str, Any]:
    address, stop = await hostile_peer(kind, keys)
    try:
        transport = TcpTransport(protocol(), ("a0",), {"a1": address, "a2": address},
                                 tls=keys.tls_credentials(("a0",)), max_queue_bytes=64 << 20, **FAST)
        transport.bind(lambda *_: None, lambda: 0.0)
        big = Vote(session="s0", sender="a0", value="y" * ((1 << 20) - 200))
        for _ in range(40):
            transport.send("a0", "a1", big, 0)
        await asyncio.sleep(1.5)
        connects = (transport.connects + transport.connect_failures) / 1.5
        sent, refused = transport.frames_sent, transport.rejections()
        started = time.perf_counter()
        await transport.close()
        closed = time.perf_counter() - started
        node = TcpTransport(protocol(), ("a0",), {"a1": address, "a2": address},
                            tls=keys.tls_credentials(("a0",)), **FAST)
        started = time.perf_counter()
        result = await node_runtime(protocol(), node, timeout=1.0).run()
        run = time.perf_counter() - started
    finally:
        await stop()
    return {"peer": kind, "close_s": round(closed, 3), "run_with_1s_deadline_s": round(run, 3),
            "status": result.status, "connect_attempts_per_s": round(connects, 1),
            "frames_written_of_40": sent, "refused": refused}


async def idle_flood(keys: Any, connections: int = 500) -> dict[str, Any]:
    groups = [("a0",), ("a1",), ("a2",)]
    transports = [TcpTransport(protocol(), g, tls=keys.tls_credentials(g), **SMALL) for g in groups]
    book = address_book(groups, [await t.start() for t in transports])
    for t in transports:
        t.connect(book)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    flood = []
    for _ in range(connections):
        _, writer = await asyncio.open_connection(*transports[0].address)
        flood.append(writer)
    peak = {"connections": 0}

    async def watch() -> None:
        while True:
            peak["connections"] = max(peak["connections"], transports[0].connections)
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(watch())
    started = time.perf_counter()
    results = await asyncio.gather(*(node_runtime(protocol(), t, timeout=10).run() for t in transports))
    decided = time.perf_counter() - started
    watcher.cancel()
    growth = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    for writer in flood:
        writer.transport.abort()
    return {"idle_connections": connections, "decided": [r.status for r in results], "decide_s": round(decided, 3),
            "peak_connections": peak["connections"], "max_connections": SMALL["max_connections"],
            "memory_growth_mib": round(growth / 2**20, 1),
            "memory_bound_mib": round(TransportLimits().with_overrides(**SMALL).memory_bound() / 2**20, 1),
            "rejected": transports[0].rejections()}


async def main_async() -> dict[str, Any]:
    keys = generate_cluster(("a0", "a1", "a2"))
    ends = [await far_end(kind, keys) for kind in ("accepts-and-closes", "never-reads", "black-hole")]
    return {"far_ends": ends, "idle_flood": await idle_flood(keys)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = asyncio.run(main_async())
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'far end':<20} {'close()':>9} {'run, 1 s deadline':>18} {'connects/s':>11} {'written':>8}  refused")
    for row in report["far_ends"]:
        print(f"{row['peer']:<20} {row['close_s']:>8.3f}s {row['run_with_1s_deadline_s']:>17.3f}s "
              f"{row['connect_attempts_per_s']:>11} {row['frames_written_of_40']:>5}/40  {row['refused']}")
    flood = report["idle_flood"]
    print(f"\n{flood['idle_connections']} idle connections at node 0: vote {flood['decided']} in "
          f"{flood['decide_s']}s; node 0 held at most {flood['peak_connections']} of "
          f"{flood['max_connections']} connections; Python memory +{flood['memory_growth_mib']} MiB "
          f"(bound {flood['memory_bound_mib']} MiB); refused {flood['rejected']}")


if __name__ == "__main__":
    main()
