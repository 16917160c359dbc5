"""A replica's state: an immutable value the checker can fingerprint.

Besides what PBFT itself needs (the message log per (view, seq), checkpoints,
view changes), a replica keeps three small *history* fields that it never
reads itself: ``highest_view``, ``prepared_log``/``committed_log`` and
``suspected``. They are how the safety properties, which see one snapshot at a
time, talk about the past (as history variables do in TLA+). They are bounded
by the configured views and sequence numbers.

``pre_prepares_seen`` grows only when a replica logs a pre-prepare or is shown
one that conflicts with its log, so it stays as small as the evidence itself.

The state keeps only what can still change a decision: a slot stops
collecting prepares once prepared and commits once committed, votes that
cannot count yet are deferred (left to the driver) instead of stored, and a
replica keeps whole VIEW-CHANGE messages only for views it leads (it needs
them for the NEW-VIEW proof); for other views it keeps their senders, which
is all the f+1 join rule reads. Besides being smaller, this is what keeps the
exhaustive check of n = 4 finite in practice (see spec/pbft.md).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from operator import attrgetter
from typing import TypeVar

import msgspec

from ...core import AgentId, Message, PhaseGraph, PhaseTransition
from .messages import GENESIS_DIGEST, Checkpoint, Commit, CommitCertificate, Prepare, PrePrepare, ViewChange

NORMAL = "normal"
VIEW_CHANGE = "view-change"

PHASES = PhaseGraph("pbft", [NORMAL, VIEW_CHANGE], NORMAL, [
    PhaseTransition("timeout", NORMAL, VIEW_CHANGE, "pending request, timer expired"),
    PhaseTransition("join", NORMAL, VIEW_CHANGE, "f+1 VIEW-CHANGEs for higher views"),
    PhaseTransition("timeout", VIEW_CHANGE, VIEW_CHANGE, "no NEW-VIEW in time: next view, doubled timer"),
    PhaseTransition("join", VIEW_CHANGE, VIEW_CHANGE, "f+1 VIEW-CHANGEs for higher views"),
    PhaseTransition("new-view", VIEW_CHANGE, NORMAL, "valid NEW-VIEW, or 2f+1 VIEW-CHANGEs at the new primary"),
    PhaseTransition("new-view", NORMAL, NORMAL, "valid NEW-VIEW for a higher view"),
])


class Slot(msgspec.Struct, frozen=True):
    """The log entry for one (view, seq): the pre-prepare and the first vote of each sender."""

    view: int
    seq: int
    pre_prepare: PrePrepare | None = None
    prepares: tuple[Prepare, ...] = ()  # at most one per sender, sorted by sender
    commits: tuple[Commit, ...] = ()  # at most one per sender, sorted by sender
    prepared: bool = False
    committed: bool = False

    @property
    def digest(self) -> bytes | None:
        return None if self.pre_prepare is None else self.pre_prepare.digest


class ReplicaState(msgspec.Struct, frozen=True):
    view: int = 0
    phase: str = NORMAL
    slots: tuple[Slot, ...] = ()  # sorted by (seq, view)
    last_executed: int = 0
    state_digest: bytes = GENESIS_DIGEST
    client_table: tuple[tuple[AgentId, int], ...] = ()  # last executed timestamp per requester
    checkpoints: tuple[Checkpoint, ...] = ()  # received above the stable checkpoint, one per (sender, seq)
    stable_seq: int = 0  # low watermark
    stable_proof: tuple[Checkpoint, ...] = ()  # 2f+1 matching checkpoints for stable_seq
    view_changes: tuple[ViewChange, ...] = ()  # for views >= view this replica leads, one per (sender, view)
    view_change_senders: frozenset[tuple[int, AgentId]] = frozenset()  # (view, sender) of VIEW-CHANGEs above view
    attempts: int = 0  # consecutive view changes without progress: the timer backs off 2**attempts
    decision_proofs: tuple[CommitCertificate, ...] = ()  # commit certificate of each executed seq, in order
    # -- history, read only by properties ---------------------------------
    highest_view: int = 0
    prepared_log: frozenset[tuple[int, int, bytes]] = frozenset()  # (view, seq, digest) ever prepared
    committed_log: frozenset[tuple[int, int, bytes]] = frozenset()  # (view, seq, digest) committed-local
    suspected: frozenset[int] = frozenset()  # views whose primary this replica's own timer gave up on
    #: (view, seq, digest) of the primary's validly signed pre-prepares this replica logged or was shown
    #: conflicting with its log (directly, forwarded in a PREPARE, in a VIEW-CHANGE or a commit certificate)
    pre_prepares_seen: frozenset[tuple[int, int, bytes]] = frozenset()

    def slot(self, view: int, seq: int) -> Slot:
        for s in self.slots:
            if s.view == view and s.seq == seq:
                return s
        return Slot(view, seq)

    def with_slot(self, slot: Slot) -> ReplicaState:
        slots, view, seq = self.slots, slot.view, slot.seq
        for i, s in enumerate(slots):  # a slot being updated keeps its place in the (seq, view) order
            if s.seq == seq and s.view == view:
                return msgspec.structs.replace(self, slots=slots[:i] + (slot,) + slots[i + 1:])
        return msgspec.structs.replace(self, slots=tuple(sorted((*slots, slot), key=_SLOT_ORDER)))

    def executed_timestamp(self, requester: AgentId) -> int:
        return next((ts for who, ts in self.client_table if who == requester), 0)


def replace(state: ReplicaState, **changes: object) -> ReplicaState:
    return msgspec.structs.replace(state, **changes)


_SENDER = attrgetter("sender")
V = TypeVar("V", bound=Message)
_SLOT_ORDER = attrgetter("seq", "view")


def vote_position(votes: tuple[V, ...], sender: AgentId) -> tuple[int, V | None]:
    """Where ``sender``'s vote is or would go in the sorted ``votes``, and its first vote there, if any.

    One binary search serves both the duplicate check and the insertion (:func:`insert_vote`): with
    no vote from ``sender`` the first and the last position for it coincide."""
    at = bisect_left(votes, sender, key=_SENDER)
    return at, (votes[at] if at < len(votes) and votes[at].sender == sender else None)


def insert_vote(votes: tuple, at: int, message: object) -> tuple:
    """``votes`` with ``message`` at ``at``, a position :func:`vote_position` found for a new sender."""
    return votes[:at] + (message,) + votes[at:]


def add_vote(votes: tuple, message: object) -> tuple:
    """``votes`` plus ``message``, kept sorted by sender (one vote per sender).

    ``votes`` is sorted already (every vote tuple is built here or filtered from one), so a
    binary search finds the place: after the sender's own entries, where a stable sort would
    put it. A re-sort read every vote's sender on every insert, an eighth of PBFT's time at
    n = 100."""
    at = bisect_right(votes, message.sender, key=_SENDER)  # type: ignore[attr-defined]
    return votes[:at] + (message,) + votes[at:]
