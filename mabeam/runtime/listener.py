"""The listening socket, accepting one connection at a time and never holding more than a fixed number open.

``asyncio.start_server`` accepts a burst of connections per loop iteration and
only afterwards lets the application look at them, so a flood of connections
can take every file descriptor of the process before any cap is applied
(accept then fails with EMFILE and real peers cannot get in). :class:`Listener`
counts the sockets it has accepted and not yet seen closed, and stops
accepting while that count is at ``limit`` (further peers wait in the kernel's
backlog); the node's admission policy (:mod:`mabeam.runtime.admission`) keeps
the count below the limit by evicting connections that have not authenticated.
An accept that still fails for lack of descriptors or memory pauses accepting
briefly and is counted, never logged as an error.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable

#: how long accepting pauses after the process ran out of descriptors
RETRY_DELAY = 0.1
_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


class Listener:
    """Accepts on ``sock`` and hands each new socket to ``accepted(sock, address)``; call :meth:`released`
    once per handed-over socket after it has been closed."""

    def __init__(self, sock: socket.socket, limit: int,
                 accepted: Callable[[socket.socket, str], None]) -> None:
        self.sock = sock
        self.limit = limit
        self.accepted = accepted
        self.open = 0
        self.peak = 0
        self.resource_errors = 0
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self._closed = False
        self._retry: asyncio.TimerHandle | None = None
        sock.setblocking(False)
        self._watch()

    @classmethod
    def bind(cls, host: str, port: int, backlog: int, limit: int,
             accepted: Callable[[socket.socket, str], None]) -> Listener:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return cls(sock, limit, accepted)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def released(self) -> None:
        """One accepted socket has been closed: there is room for another."""
        self.open -= 1
        if self.open < self.limit:
            self._watch()

    def close(self) -> None:
        self._closed = True
        self._unwatch()
        if self._retry is not None:
            self._retry.cancel()
        self.sock.close()

    def _watch(self) -> None:
        if not self._reading and not self._closed and self._retry is None:
            self._loop.add_reader(self.sock.fileno(), self._ready)
            self._reading = True

    def _unwatch(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.sock.fileno())
            self._reading = False

    def _ready(self) -> None:
        while self.open < self.limit and not self._closed:
            try:
                conn, address = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in _OUT_OF_RESOURCES:
                    raise
                self.resource_errors += 1
                self._unwatch()
                self._retry = self._loop.call_later(RETRY_DELAY, self._resume)
                return
            conn.setblocking(False)
            self.open += 1
            self.peak = max(self.peak, self.open)
            self.accepted(conn, str(address[0]) if address else "?")
        if self.open >= self.limit:
            self._unwatch()  # at the limit: peers wait in the backlog until a socket closes

    def _resume(self) -> None:
        self._retry = None
        if self.open < self.limit:
            self._watch()
