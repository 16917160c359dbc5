"""Adaptive-coordination messages: signed, and each bound to (session, stage, sender).

The signature (``mabeam.core.auth`` signing: symbolic digests for checking, Ed25519
live) covers the domain-separated signing bytes (``adaptive``, the kind, the session,
then the fields), so a vote
cannot be moved to another session, stage or sender. Proofs inside a message
(a lock's votes, a decision's commits, evidence's two votes) are themselves
signed messages, checked one by one by the receiver.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from ...core import Message

Value = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Stage = Annotated[int, msgspec.Meta(ge=0, le=64)]


class Vote(Message, frozen=True, tag="adaptive.vote", forbid_unknown_fields=True):
    """The sender's vote in ``stage`` (its input, or the value forced by a lock)."""

    stage: Stage
    value: Value
    signature: bytes = b""


class Commit(Message, frozen=True, tag="adaptive.commit", forbid_unknown_fields=True):
    """The sender saw a quorum of votes for ``value`` in ``stage`` and locked on it."""

    stage: Stage
    value: Value
    signature: bytes = b""


class Lock(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A value a quorum voted for in ``stage``, with the signed votes that show it."""

    stage: Stage
    value: Value
    proof: tuple[Vote, ...]


class Switch(Message, frozen=True, tag="adaptive.switch", forbid_unknown_fields=True):
    """The sender leaves ``stage``: it reports its vote there and its highest lock (if any)."""

    stage: Stage
    vote: Value | None = None
    lock: Lock | None = None
    cause: str = ""
    signature: bytes = b""

    def describe(self) -> str:
        lock = "none" if self.lock is None else (f"{self.lock.value!r}@stage{self.lock.stage} "
                                                 f"({len(self.lock.proof)} signed votes)")
        return f"Switch(stage={self.stage}, vote={self.vote!r}, lock={lock}, cause={self.cause!r})"


class Decided(Message, frozen=True, tag="adaptive.decided", forbid_unknown_fields=True):
    """A decision certificate: a quorum of signed commits for ``value`` in ``stage`` (catch-up);
    in the last stage, which needs no lock, a quorum of signed votes."""

    stage: Stage
    value: Value
    proof: tuple[Commit | Vote, ...]
    signature: bytes = b""

    def describe(self) -> str:
        return (f"Decided(stage={self.stage}, value={self.value!r}, proof={len(self.proof)} signed "
                f"{type(self.proof[0]).__name__.lower() if self.proof else 'message'}s)")


class Alarm(Message, frozen=True, tag="adaptive.alarm", forbid_unknown_fields=True):
    """Equivocation evidence: two conflicting signed votes of one member in one stage."""

    first: Vote
    second: Vote
    signature: bytes = b""

    def describe(self) -> str:
        return (f"Alarm({self.first.sender} voted {self.first.value!r} and {self.second.value!r} "
                f"in stage {self.first.stage})")


MESSAGE_TYPES: tuple[type[Message], ...] = (Vote, Commit, Switch, Decided, Alarm)
