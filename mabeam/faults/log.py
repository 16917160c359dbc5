"""A node's JSON-lines log: its states, decisions, evidence and every message it sent, in its own order.

Why this shape: the replay (:mod:`mabeam.faults.replay`) rebuilds global
states from the logs of separate processes, so every record carries the
machine-wide monotonic clock (``time.monotonic``, one clock for every process
on a Linux host). A node writes a step's new state before the step's messages
leave and a received message is handled after it was sent, so ordering all
records by that clock gives cuts no message crosses backwards.

Each line is one JSON object with ``t`` (monotonic seconds), ``agent``,
``kind`` and a readable ``text``; ``msg`` holds a sent message's canonical
bytes (hex: its signature can be checked by anyone holding the public keys)
and ``py`` the exact Python value of a state, decision or evidence (base64
pickle). The logs are the harness's own files, written by its node processes;
the replay reads nothing else (never point it at logs of unknown origin:
unpickling runs code).
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.observer import ObservedStep, Observer
from ..core.protocol import Protocol
from ..runtime.tcp import TcpTransport


def _pack(value: Any) -> str:
    return base64.b64encode(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)).decode()


def unpack(text: str) -> Any:
    """The Python value of a record's ``py`` field (the harness's own logs only: see the module docstring)."""
    return pickle.loads(base64.b64decode(text))  # our own node processes wrote it


class NodeLog:
    """Appends records to one file, flushed line by line so a ``kill -9`` loses none that were written."""

    def __init__(self, path: str | Path, incarnation: int) -> None:
        self.path = Path(path)
        self.incarnation = incarnation
        self._file: IO[str] = open(self.path, "a", buffering=1)  # noqa: SIM115  # closed by close()

    def write(self, kind: str, agent: AgentId | None, text: str, **fields: Any) -> None:
        record = {"t": time.monotonic(), "kind": kind, "agent": agent, "inc": self.incarnation, "text": text,
                  **fields}
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class LogObserver(Observer):
    """What a node's runtime tells its log: each step's new state, decisions, evidence, restarts."""

    def __init__(self, log: NodeLog) -> None:
        self.log = log

    def on_step(self, step: ObservedStep) -> None:
        if step.byzantine:
            return
        self.log.write("state", step.agent, f"{step.kind} -> {step.protocol.phase_of(step.after)}",
                       py=_pack(step.after))

    def on_decision(self, agent: AgentId, value: Any, instance: Any, at: float, round: int) -> None:
        self.log.write("decide", agent, f"decided {value!r} (instance {instance!r})", py=_pack((instance, value)))

    def on_evidence(self, agent: AgentId, evidence: Evidence, at: float) -> None:
        self.log.write("evidence", agent, f"evidence {evidence.kind} against {evidence.against}", py=_pack(evidence))

    def on_fault(self, agent: AgentId, kind: str, at: float) -> None:
        self.log.write("fault", agent, kind)


class LoggingTransport(TcpTransport):
    """A TCP transport that logs each message its agents send (canonical bytes) before it is queued."""

    log: NodeLog

    def attach(self, log: NodeLog) -> None:
        self.log = log

    def send(self, sender: AgentId, to: AgentId, message: Message, depth: int) -> None:
        self.log.write("send", sender, f"{type(message).__name__} -> {to}", to=[to],
                       msg=self.protocol.codec.encode(message).hex())
        super().send(sender, to, message, depth)

    def broadcast(self, sender: AgentId, recipients: tuple[AgentId, ...], message: Message, depth: int) -> None:
        self.log.write("send", sender, f"{type(message).__name__} -> {len(recipients)} agents", to=list(recipients),
                       msg=self.protocol.codec.encode(message).hex())
        for to in recipients:
            super().send(sender, to, message, depth)


def read_log(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of one log, in file order; a last line cut short by a kill is skipped."""
    with open(path) as file:
        for line in file:
            if not line.endswith("\n"):
                return  # the process died mid-line
            yield json.loads(line)


def decode_message(protocol: Protocol, record: dict[str, Any]) -> Message:
    return protocol.codec.decode(bytes.fromhex(record["msg"]))


def process_id() -> int:
    return os.getpid()
