"""Signature checks ahead of time: a worker thread verifies messages while the event loop goes on.

The asyncio runtime runs every hosted agent on one thread, so each Ed25519
check (about 60 µs) sits on the path of every event queued behind it. libsodium
releases the GIL while it verifies, so a second core can check a message from
the moment it is sent (in-process) or arrives (over a network) until its
receiver handles it; the receiver's :meth:`~mabeam.core.auth.Authenticator.verify`
then finds the verdict instead of computing it. Only timing changes: a verdict
is a pure function of the message, so every run decides and rejects exactly as
without the worker, and the simulator and model checker never use it.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading

from ..core.auth import Authenticator
from ..core.messages import Message

#: events that must be waiting on the loop before a sent message is worth checking ahead: with fewer,
#: its receiver handles it about as soon as the worker could, and the handover of the GIL costs more
AHEAD_BACKLOG = 16
#: messages waiting for the worker beyond which new ones are left to their receivers (a flood of
#: traffic must not grow this queue: it only saves time, and the receivers verify anyway)
QUEUE_LIMIT = 4096
_STOP = object()


class SignatureWorker:
    """One daemon thread checking queued messages' signatures for ``auth`` (see the module docstring)."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._last: Message | None = None  # a broadcast submits one object per recipient: queue it once
        self._stopping = False
        # started by the first submission: a run that never has a backlog pays for no thread
        self._thread = threading.Thread(target=self._work, name="mabeam-verify-ahead", daemon=True)

    @classmethod
    def wanted(cls, auth: Authenticator | None, setting: bool | None) -> SignatureWorker | None:
        """A worker if ``setting`` asks for one, or (``None``) if checks are costly and a second core exists."""
        if auth is None or setting is False:
            return None
        if setting is None and not (auth.worth_verifying_ahead and (os.cpu_count() or 1) > 1):
            return None
        return cls(auth)

    def submit(self, message: Message) -> None:
        if message is not self._last and self._queue.qsize() < QUEUE_LIMIT:
            self._last = message
            self._queue.put(message)
            if self._thread.ident is None:
                self._thread.start()

    def close(self) -> None:
        """Stop at once: queued checks are dropped (nobody is left to claim them), so joining
        waits for one verification at most."""
        self._stopping = True
        if self._thread.ident is not None:
            self._queue.put(_STOP)
            self._thread.join()

    def _work(self) -> None:
        verify_ahead = self.auth.verify_ahead
        while True:
            message = self._queue.get()
            if message is _STOP or self._stopping:
                return
            with contextlib.suppress(Exception):  # a malformed message: its receiver's own check refuses it
                verify_ahead(message)  # type: ignore[arg-type]
