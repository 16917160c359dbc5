"""Signature checks ahead of time in a helper process, while the event loop goes on.

The asyncio runtime runs every hosted agent on one thread, so each Ed25519 check
(about 60 µs) sits on the path of every event queued behind it. A message's
signature can be checked from the moment it is sent until its receiver handles it:
the runtime hands it to a helper process on the second core, which writes back the
verdict; :meth:`~mabeam.core.auth.Authenticator.verify` then finds it instead of
computing it. Only timing changes: a verdict is a pure function of the message (the
helper makes the parent's own libsodium call), a verdict not back in time is simply
computed by the receiver, so every run decides and rejects exactly as without it. The
simulator and model checker never use it.

Why a process and not a thread: libsodium releases the GIL while it checks, but a
worker thread needs the GIL back between checks, and the loop holds it while it runs
Python. Measured alternating in fresh processes (2 cores, load below 0.5), a worker
thread made every latency row slower (linear weighted voting at 200 agents 24.5 ms
against 21.6 without, PBFT at 13 agents 5.6 against 4.75); the helper process needs
no GIL at all, and the loop reads its verdicts between events.

One helper serves a whole Python process: it starts with the first run that wants it
and serves later runs one at a time (a run that finds it busy or not ready yet checks
for itself); it ends when the parent closes its input, at exit or when the parent dies.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path

from ..core.auth import Authenticator
from ..core.identity import AgentId
from ..core.messages import Message
from .verifier_child import HEADER, KEY_BYTES, MAX_FRAME, READY, RESULT, SIGNATURE_BYTES

#: events that must be waiting on the loop before a sent message is worth checking ahead: with fewer,
#: its receiver handles it about as soon as the helper could, and the handover costs more than it saves
AHEAD_BACKLOG = 16
#: checks in flight to the helper beyond which new messages are left to their receivers (a flood of
#: traffic must not grow the table or the pipe: checking ahead only saves time, receivers verify anyway)
PENDING_LIMIT = 4096
_CHILD = str(Path(__file__).with_name("verifier_child.py"))


class _Helper:
    """The helper process and its two pipes (one per Python process: see :func:`_helper`)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        # its stderr goes nowhere: a helper that fails is only a helper less (runs check for themselves),
        # and it must not hold the parent's stderr open, which whoever runs the parent may be reading
        self.process = subprocess.Popen([sys.executable, "-I", _CHILD], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
                                        close_fds=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.write_fd, self.read_fd = self.process.stdin.fileno(), self.process.stdout.fileno()
        os.set_blocking(self.write_fd, False)
        os.set_blocking(self.read_fd, False)
        self.ready = False
        self.alive = True
        self.busy = False
        self.next_id = 0
        self.unread = b""  # the start of a verdict not wholly read yet
        #: what the pipe did not take yet (full: the helper is behind); kept across runs, since a frame
        #: written in part must be finished before the next one starts
        self.outgoing = bytearray()

    def close(self) -> None:
        self.alive = False
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_shared: _Helper | None = None
_TAKING = threading.Lock()
#: helpers that ended before they were ready (e.g. libsodium's binding missing): after this many, none
#: is started again in this process (each would only fail the same way)
STARTS_WITHOUT_READY = 3
_failed_starts = 0


def _helper() -> _Helper | None:
    """This process's helper, started if there is none (or the last one died); ``None`` if it cannot be."""
    global _shared, _failed_starts
    if _shared is not None and _shared.pid != os.getpid():
        _shared = None  # after a fork the parent's helper is not ours: leave its pipes alone
    if _shared is not None and not _shared.alive and not _shared.busy:  # a run still reading it closes first
        _failed_starts += not _shared.ready
        _shared.close()
        _shared = None
    if _shared is None:
        if _failed_starts >= STARTS_WITHOUT_READY:
            return None
        try:
            _shared = _Helper()
        except OSError:
            return None
    return _shared


def helper_pid() -> int | None:
    """The process id of this process's helper, if one was started (to read its CPU time, say)."""
    return _shared.process.pid if _shared is not None and _shared.pid == os.getpid() else None


@atexit.register
def _stop_helper() -> None:
    if _shared is not None and _shared.pid == os.getpid():
        _shared.close()


class AheadVerifier:
    """One run's use of the helper: submit sent messages, collect verdicts on the run's loop."""

    def __init__(self, auth: Authenticator, keys: Mapping[AgentId, bytes], helper: _Helper,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.auth, self._keys, self._helper, self._loop = auth, keys, helper, loop
        self._pending: dict[int, tuple[Message, int]] = {}
        self._last: Message | None = None  # a broadcast submits one object per recipient: once is enough
        self.submitted = 0
        self.found = 0  # verdicts that came back (whether or not their receiver still needed them)
        loop.add_reader(helper.read_fd, self._read)

    @classmethod
    def wanted(cls, auth: Authenticator | None, setting: bool | None,
               loop: asyncio.AbstractEventLoop) -> AheadVerifier | None:
        """A verifier if ``setting`` asks for one, or (``None``) if checks are costly and a second core
        exists; ``None`` when the authenticator's checks cannot be made elsewhere or the helper is busy."""
        if auth is None or setting is False:
            return None
        keys = auth.keys_for_checks_elsewhere()
        if keys is None or (setting is None and (os.cpu_count() or 1) < 2):
            return None
        with _TAKING:  # runs on other threads' loops may ask at the same moment: one gets it
            helper = _helper()
            if helper is None or helper.busy:
                return None
            helper.busy = True
        try:
            return cls(auth, keys, helper, loop)
        except BaseException:
            helper.busy = False
            raise

    def submit(self, message: Message) -> None:
        """Queue ``message``'s check (skipped when it is known already, or the helper is not ready or behind)."""
        if message is self._last:
            return
        self._last = message
        helper = self._helper
        if not helper.ready or not helper.alive or len(self._pending) >= PENDING_LIMIT:
            return
        key = self._keys.get(message.sender)
        if key is None:
            return
        request = self.auth.check_request(message)
        if request is None:
            return
        data, signature, cost = request
        if len(signature) != SIGNATURE_BYTES or len(data) > MAX_FRAME - KEY_BYTES - SIGNATURE_BYTES:
            return  # invalid at once, or large enough that its receiver may as well check it
        ident = helper.next_id = (helper.next_id + 1) & 0xFFFFFFFF
        self._pending[ident] = (message, cost)
        outgoing = helper.outgoing
        outgoing += HEADER.pack(ident, KEY_BYTES + SIGNATURE_BYTES + len(data))
        outgoing += key + signature + data
        self.submitted += 1
        self._flush()  # at once: eight votes per write left the loop a quarter of the checks (200 agents)

    def _flush(self) -> None:
        helper = self._helper
        if not helper.outgoing or not helper.alive:
            return
        try:
            written = os.write(helper.write_fd, helper.outgoing)
        except BlockingIOError:
            written = 0
        except OSError:  # the helper died: nothing more goes to it, receivers check for themselves
            helper.alive = False
            return
        del helper.outgoing[:written]  # a partly written frame is finished by the next flush

    def _read(self) -> None:
        helper = self._helper
        try:
            chunk = os.read(helper.read_fd, 1 << 16)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:  # the helper ended
            helper.alive = False
            self._loop.remove_reader(helper.read_fd)
            return
        data = helper.unread + chunk
        at = 0
        if not helper.ready:
            if not data.startswith(READY[:len(data)]):
                helper.alive = False
                return
            if len(data) < len(READY):
                helper.unread = data
                return
            helper.ready, at = True, len(READY)
        pending, record = self._pending, self.auth.record_check
        size = RESULT.size
        while len(data) - at >= size:
            ident, valid = RESULT.unpack_from(data, at)
            at += size
            found = pending.pop(ident, None)  # an earlier run's late verdict is not ours: dropped
            if found is not None:
                self.found += 1
                record(found[0], bool(valid), found[1])
        helper.unread = data[at:]

    def close(self) -> None:
        """Stop collecting: verdicts still on their way are dropped (the next run ignores them)."""
        helper = self._helper
        with contextlib.suppress(Exception):
            self._loop.remove_reader(helper.read_fd)
        self._pending.clear()
        helper.busy = False
