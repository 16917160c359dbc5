"""A loopback proxy per directed pair of nodes: where a fault run cuts and slows links.

Why one listener per (source, destination) pair: TLS hides who is talking
from a byte pump, so the link's direction is fixed by the port the source
node was told to dial (each node gets its own address book). A cut link
closes its connections and refuses new ones until healed (the nodes' links
reconnect with backoff, as over a real network); a delayed link forwards each
chunk ``delay`` seconds after it arrived, in order. Bytes are forwarded
untouched: the TLS session is end to end between the nodes.
"""

from __future__ import annotations

import asyncio
import contextlib

HOST = "127.0.0.1"
CHUNK = 65536


class Link:
    """Bytes from node ``source`` to node ``target``'s real port, through one loopback listener."""

    def __init__(self, source: int, target: int, target_port: int) -> None:
        self.source, self.target, self.target_port = source, target, target_port
        self.cut = False
        self.delay = 0.0
        self.port = 0
        self.connections = 0
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._accept, HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def set_cut(self, cut: bool) -> None:
        self.cut = cut
        if cut:
            for writer in list(self._open):
                writer.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.target_port)
        except OSError:
            writer.close()  # the target is down (killed): the source reconnects later
            return
        self.connections += 1
        self._open |= {writer, up_writer}
        pumps = [asyncio.create_task(self._pump(reader, up_writer)), asyncio.create_task(self._pump(up_reader, writer))]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for task in pumps:
            task.cancel()
        for w in (writer, up_writer):
            w.close()
            self._open.discard(w)
        self._tasks.difference_update(pumps)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def forward() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if self.cut:
                    return
                writer.write(data)
                await writer.drain()

        forwarder = asyncio.create_task(forward())
        try:
            while not forwarder.done():
                data = await reader.read(CHUNK)
                if not data or self.cut:
                    return
                queue.put_nowait((loop.time() + self.delay, data))
        except (ConnectionError, OSError):
            return
        finally:
            forwarder.cancel()
            with contextlib.suppress(BaseException):
                await forwarder

    async def close(self) -> None:
        self.set_cut(True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class Proxy:
    """Every directed link between ``len(ports)`` nodes; partitions and delays act on them."""

    def __init__(self, ports: list[int]) -> None:
        self.links = {(i, j): Link(i, j, ports[j]) for i in range(len(ports)) for j in range(len(ports)) if i != j}

    async def start(self) -> None:
        for link in self.links.values():
            await link.start()

    def port(self, source: int, target: int) -> int:
        return self.links[(source, target)].port

    def retarget(self, target: int, target_port: int) -> None:
        """Node ``target`` (re)started listening on ``target_port``: new connections to it go there."""
        for (_, j), link in self.links.items():
            if j == target:
                link.target_port = target_port

    def partition(self, groups: list[list[int]]) -> None:
        """Cut every link between nodes of different groups (a node in no group is cut from everyone)."""
        side = {node: k for k, group in enumerate(groups) for node in group}
        for (i, j), link in self.links.items():
            link.set_cut(side.get(i, -1 - i) != side.get(j, -1 - j))

    def heal(self) -> None:
        for link in self.links.values():
            link.set_cut(False)

    def slow(self, delay: float) -> None:
        for link in self.links.values():
            link.delay = delay

    async def close(self) -> None:
        await asyncio.gather(*(link.close() for link in self.links.values()))
