"""Stable storage for durable node state: SQLite in WAL mode, each write on disk before it returns.

A node that restarts must not contradict what it signed before the crash, so
the driver writes :meth:`Protocol.durable <mabeam.core.protocol.Protocol.durable>`
of an agent's state after every step that changes it and before the step's
messages leave (:class:`~mabeam.live.driver.LiveDriver`), and restarts from it
with :meth:`Protocol.recover <mabeam.core.protocol.Protocol.recover>`.

:class:`SqliteStore` keeps one row per (session, agent): the protocol it
belongs to, a write counter and the value as MessagePack. The database runs
in WAL mode with ``synchronous=FULL``, so a committed write has been fsynced
to the log: a ``kill -9`` or a power cut right after :meth:`SqliteStore.save`
returned cannot lose it. :class:`DurableLog` binds a store to one protocol
instance, encoding and decoding with the protocol's ``durable_type``; a row
written by another protocol, or bytes that do not decode, raise
:class:`DurableStateError` instead of restarting a node from the wrong state.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import msgspec

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.protocol import Protocol

_SCHEMA = """CREATE TABLE IF NOT EXISTS durable (
    session TEXT NOT NULL,
    agent TEXT NOT NULL,
    kind TEXT NOT NULL,
    writes INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (session, agent)
)"""


class DurableStateError(ConfigurationError):
    """A store holds a state this protocol instance cannot restart from (another protocol, corrupt bytes)."""


class SqliteStore:
    """Durable values by (session, agent) in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise DurableStateError(f"cannot open the durable store {self.path}: {exc}") from None
        if str(mode).lower() != "wal":
            raise DurableStateError(f"{self.path}: SQLite refused WAL mode (journal_mode={mode})")
        self.writes = 0

    def load(self, session: str, agent: AgentId) -> tuple[str, bytes] | None:
        """(kind, bytes) last saved for ``agent`` in ``session``, or ``None``."""
        row = self._db.execute("SELECT kind, state FROM durable WHERE session = ? AND agent = ?",
                               (session, agent)).fetchone()
        return None if row is None else (str(row[0]), bytes(row[1]))

    def save(self, session: str, agent: AgentId, kind: str, data: bytes) -> None:
        """Replace ``agent``'s value; on disk (WAL fsynced) when this returns."""
        self._db.execute(
            "INSERT INTO durable (session, agent, kind, writes, state) VALUES (?, ?, ?, 1, ?) "
            "ON CONFLICT (session, agent) DO UPDATE SET kind = excluded.kind, writes = writes + 1, "
            "state = excluded.state", (session, agent, kind, data))
        self.writes += 1

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DurableLog:
    """A store seen by one protocol instance: ``load(agent)`` and ``save(agent, value)`` in its durable type.

    This is what :class:`~mabeam.live.driver.LiveDriver` takes as ``durable``.
    """

    def __init__(self, store: SqliteStore, protocol: Protocol) -> None:
        if protocol.durable_type is None:
            raise ConfigurationError(f"{protocol.name} keeps no durable state: it restarts afresh, nothing to store")
        self.store = store
        self.protocol = protocol
        self.kind = f"{protocol.name}/{getattr(protocol.durable_type, '__name__', str(protocol.durable_type))}"
        self._decoder = msgspec.msgpack.Decoder(protocol.durable_type)
        self._encoder = msgspec.msgpack.Encoder(order="deterministic")

    def load(self, agent: AgentId) -> Any | None:
        found = self.store.load(self.protocol.session, agent)
        if found is None:
            return None
        kind, data = found
        if kind != self.kind:
            raise DurableStateError(f"{self.store.path} holds a {kind} state for {agent}, not a {self.kind}")
        try:
            return self._decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise DurableStateError(f"{self.store.path}: the state of {agent} does not decode: {exc}") from None

    def save(self, agent: AgentId, value: Any) -> None:
        self.store.save(self.protocol.session, agent, self.kind, self._encoder.encode(value))
