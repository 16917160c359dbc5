"""PBFT messages: frozen, canonical, and each one signed by its sender.

Every message binds the session, the sender and its phase (the msgspec tag);
normal-case messages also bind (view, seq). The signature covers the
domain-separated signing bytes (:func:`mabeam.core.auth.signing_bytes`: a fixed prefix,
``pbft``, the kind, the session, then every other field), so a
signed message cannot be moved to another session, view, sequence number,
phase or sender without the signature failing.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import msgspec

from ...core import Message


class Request(Message, frozen=True, tag="pbft.request"):
    """A client's signed request; ``sender`` is the requester (not a replica)."""

    timestamp: int
    operation: str
    signature: bytes = b""


class PrePrepare(Message, frozen=True, tag="pbft.pre-prepare"):
    """The primary of ``view`` assigns ``request`` (``None`` = null request) to ``seq``; with batching
    (:mod:`.batching`) ``more`` holds the rest of the batch, and ``digest`` covers all of it."""

    view: int
    seq: int
    digest: bytes
    request: Request | None = None
    more: tuple[Request, ...] = ()
    signature: bytes = b""


class Prepare(Message, frozen=True, tag="pbft.prepare"):
    """A backup's vote for the primary's pre-prepare, which it forwards (signed by the primary).

    Forwarding makes two conflicting pre-prepares for one (view, seq) meet at some
    honest replica, which turns them into evidence against the primary.
    ``pre_prepare`` is optional on the wire (the vote counts without it), but an
    honest backup always includes it, and one that is included must match.
    """

    view: int
    seq: int
    digest: bytes
    pre_prepare: PrePrepare | None = None
    signature: bytes = b""


class Commit(Message, frozen=True, tag="pbft.commit"):
    view: int
    seq: int
    digest: bytes
    signature: bytes = b""


class VoteBundle(Message, frozen=True, tag="pbft.votes"):
    """Linear communication: the prepares or the commits one replica holds for (view, seq), relayed at once.

    The view's primary sends one per phase, holding the votes it counted. A receiver checks and counts
    every enclosed vote exactly as if its signer had sent it (:func:`.linear.on_votes`), so it trusts
    the relaying replica for nothing: the bundle's own signature only binds its sender and session,
    and any member may send one (relaying signed votes is something a Byzantine replica can do anyway).
    One kind of vote per bundle, for the bundle's view and sequence number, at most one per sender,
    sorted by sender.
    """

    view: int
    seq: int
    votes: tuple[Prepare | Commit, ...]
    signature: bytes = b""


class Checkpoint(Message, frozen=True, tag="pbft.checkpoint"):
    """The sender's state digest after executing every request up to ``seq``."""

    seq: int
    digest: bytes
    signature: bytes = b""


class PreparedCertificate(msgspec.Struct, frozen=True):
    """Proof that ``pre_prepare`` was prepared: it plus 2f matching signed prepares."""

    pre_prepare: PrePrepare
    prepares: tuple[Prepare, ...]


class CommitCertificate(msgspec.Struct, frozen=True):
    """Proof that ``pre_prepare`` committed: it plus a quorum of matching signed commits.

    Any quorum shares an honest replica with the quorum that prepared the slot,
    so no other value can commit at ``pre_prepare.seq`` (spec/pbft.md, catch-up).
    """

    pre_prepare: PrePrepare
    commits: tuple[Commit, ...]

    @property
    def seq(self) -> int:
        return self.pre_prepare.seq

    @property
    def view(self) -> int:
        return self.pre_prepare.view


class Decided(Message, frozen=True, tag="pbft.decided"):
    """A decided replica's answer to a replica still working on ``seq``: its commit certificate.

    Sent in reply to normal-case messages for a decided sequence number and to
    VIEW-CHANGEs (a replica that keeps timing out asks this way). The receiver
    checks the certificate itself; the answering replica's signature only binds
    the message to its sender and session.
    """

    seq: int
    certificate: CommitCertificate
    signature: bytes = b""


class ViewChange(Message, frozen=True, tag="pbft.view-change"):
    """The sender moves to ``view``; carries its stable checkpoint proof and prepared certificates."""

    view: int
    stable_seq: int
    checkpoint_proof: tuple[Checkpoint, ...]
    prepared: tuple[PreparedCertificate, ...]
    signature: bytes = b""


class NewView(Message, frozen=True, tag="pbft.new-view"):
    """The new primary's proof (2f+1 view changes) and the re-proposals they force."""

    view: int
    view_changes: tuple[ViewChange, ...]
    pre_prepares: tuple[PrePrepare, ...]
    signature: bytes = b""


MESSAGE_TYPES: tuple[type[Message], ...] = (
    Request, PrePrepare, Prepare, Commit, Checkpoint, ViewChange, NewView, Decided, VoteBundle)

#: the phase of each signed message kind, used in rejection reasons and evidence
PHASE_OF: dict[type[Message], str] = {
    Request: "request", PrePrepare: "pre-prepare", Prepare: "prepare", Commit: "commit",
    Checkpoint: "checkpoint", ViewChange: "view-change", NewView: "new-view", Decided: "decided",
    VoteBundle: "votes",
}

NULL_VALUE = "(null)"
_NULL_DIGEST = hashlib.blake2b(b"mabeam.pbft.null-request", digest_size=16).digest()


@lru_cache(maxsize=4096)
def request_digest(request: Request | None) -> bytes:
    """The digest prepares and commits vote on; ``None`` is PBFT's null request.

    Memoised (a pure function of an immutable request): every forwarded pre-prepare
    in a PREPARE is re-checked against it, n^2 times per decision."""
    if request is None:
        return _NULL_DIGEST
    return hashlib.blake2b(request.canonical(), digest_size=16).digest()


def request_value(request: Request | None) -> str:
    """What a replica decides when it executes ``request``."""
    return NULL_VALUE if request is None else request.operation


def chain_digest(previous: bytes, value: str) -> bytes:
    """The state digest after executing ``value`` on top of ``previous`` (checkpoint digests)."""
    return hashlib.blake2b(previous + value.encode(), digest_size=16).digest()


GENESIS_DIGEST = hashlib.blake2b(b"mabeam.pbft.genesis", digest_size=16).digest()
