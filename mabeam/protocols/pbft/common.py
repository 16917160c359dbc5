"""Small pieces every PBFT handler shares: rejections, deferrals, evidence, first-vote bookkeeping."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, TypeVar

from ...core import Defer, Effect, Message, Reject, Step
from .batching import proposal_digest
from .evidence import equivocation
from .interface import Replica
from .messages import PrePrepare
from .state import ReplicaState, replace


def reject(state: Any, reason: str, message: Message) -> Step:
    """Refuse ``message``: the state is unchanged and the driver counts the reason."""
    return Step(state, (Reject(reason, message),))


def defer(state: Any, message: Message) -> Step:
    """``message`` is valid but cannot count yet: the state is unchanged and the driver redelivers it later."""
    return Step(state, (Defer(message),))


M = TypeVar("M", bound=Message)
_SENDER = attrgetter("sender")


def first_from(votes: Sequence[M], sender: str, **slot: Any) -> M | None:
    """The message already counted from ``sender`` (optionally matching slot fields).

    Every vote tuple of a replica's state is sorted by sender (:func:`.state.add_vote`,
    and :func:`.catchup.adopt` sorts an adopted certificate), so a binary search finds
    the sender's first entry and only that sender's entries are scanned.
    """
    at = bisect_left(votes, sender, key=_SENDER)
    for vote in votes[at:]:
        if vote.sender != sender:
            break
        if all(getattr(vote, k) == v for k, v in slot.items()):
            return vote
    return None


def duplicate_or_conflict(state: Any, counted: Message, incoming: Message) -> Step:
    """A sender's second message for a slot: ignored if identical, evidence if it conflicts.

    Either way the counted vote stays: a later message never replaces it.
    """
    if counted == incoming:
        return reject(state, "duplicate", incoming)
    effects: tuple[Effect, ...] = (equivocation(counted, incoming), Reject("equivocation", incoming))
    return Step(state, effects)


# ------------------------------------------------------------ equivocation
def shown_pre_prepare(r: Replica, state: ReplicaState,
                      shown: PrePrepare) -> tuple[ReplicaState, tuple[Effect, ...]]:
    """Compare a primary's signed pre-prepare shown by someone else with the one this replica logged.

    Two validly signed pre-prepares for one (view, seq) with different digests
    are transferable proof that the primary equivocated. ``shown`` must be
    checked (signed by the view's primary, this session) by the caller.
    """
    own = state.slot(shown.view, shown.seq).pre_prepare
    if own is None or own.digest == shown.digest or own.sender != shown.sender:
        return state, ()
    if r.config.audit_pre_prepares:
        seen = state.pre_prepares_seen | {(own.view, own.seq, own.digest), (shown.view, shown.seq, shown.digest)}
        state = replace(state, pre_prepares_seen=seen)
    return state, r.primary_equivocation(own, shown)


def signed_by_primary(r: Replica, pp: PrePrepare) -> bool:
    return (pp.session == r.session and pp.sender == r.primary(pp.view) and r.auth.verify(pp)
            and pp.digest == proposal_digest(pp))
