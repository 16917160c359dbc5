"""Linear communication's vote bundles: how the view's primary relays a phase, and how a bundle is counted.

With ``PBFTConfig.communication = "linear"`` a backup sends its prepare and commit to
the view's primary only (:func:`.normal.vote_effect`); the primary relays the votes
it counted, once per phase, in a :class:`.messages.VoteBundle` (:func:`.normal.advance`
calls :meth:`Replica.relay`). A receiver counts each enclosed vote exactly as if its
signer had sent it (spec/pbft.md, "Linear communication").
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, cast

from ...core import AgentId, Broadcast, Defer, Effect, Reject, Step
from .common import defer, reject
from .interface import Replica
from .messages import Commit, Prepare, VoteBundle
from .normal import advance, view_screen
from .state import ReplicaState, Slot, insert_vote, vote_position


def relay(r: Replica, me: AgentId, votes: list, view: int, seq: int) -> list[Effect]:
    """Linear communication: the primary's broadcast of the votes it counted for one phase of a slot."""
    if not votes:
        return []
    return [Broadcast(r.signer(me).sign(VoteBundle(session=r.session, sender=me, view=view, seq=seq,
                                                   votes=tuple(votes))))]


def bundle_problem(r: Replica, m: VoteBundle) -> str | None:
    """A well-formed bundle: votes of one kind, all for its (view, seq), one per sender in sender order."""
    votes = m.votes
    if not votes or len(votes) > r.config.n:
        return "bad-bundle"
    kind = type(votes[0])
    if kind is not Prepare and kind is not Commit:
        return "bad-bundle"
    senders = [v.sender for v in votes]
    if any(type(v) is not kind or v.view != m.view or v.seq != m.seq for v in votes) \
            or any(a >= b for a, b in pairwise(senders)):
        return "bad-bundle"
    return None


def on_votes(r: Replica, me: AgentId, state: ReplicaState, m: VoteBundle) -> Step:
    """Count each vote of a bundle as if its signer had sent it (screened, signature checked).

    The whole bundle is deferred while its phase cannot count yet (prepares before the
    pre-prepare, commits before the slot is prepared), so no enclosed vote ever needs a
    deferral of its own: delivering a bundle reaches exactly the state that delivering its
    votes one by one, in order, reaches. The receiver's own vote is skipped.
    """
    screened = view_screen(r, state, m)
    if screened is not None:
        return screened
    if not r.in_window(state, m.seq):
        return reject(state, "outside-watermarks", m)
    problem = bundle_problem(r, m)
    if problem is not None:
        return reject(state, problem, m)
    slot = state.slot(m.view, m.seq)
    if slot.pre_prepare is None if type(m.votes[0]) is Prepare else not r.ready_for_commits(slot):
        return defer(state, m)
    return BundleCount(r, me, state, m).run()


class BundleCount:
    """One bundle's votes counted in order, as :func:`on_prepare` / :func:`on_commit` would count them.

    Why a class: a vote that plainly counts (a new sender, the slot's digest, the phase not yet
    reached) is added to a local copy of the slot, and only the threshold test (``is_prepared``,
    ``is_committed``: what mutants change) runs per vote; the state is rebuilt, and :func:`advance`
    run, once the threshold is crossed or the bundle ends. Any other vote (a second vote, a
    mismatch, a prepare from the primary) goes through the ordinary handler on the state so far.
    Per-vote dispatch cost about 8 us a vote, n * 2q votes per decision at n = 100.
    """

    def __init__(self, r: Replica, me: AgentId, state: ReplicaState, m: VoteBundle) -> None:
        self.r, self.me, self.state, self.m = r, me, state, m
        self.prepares = type(m.votes[0]) is Prepare
        self.effects: list[Effect] = []
        self._load()

    def _load(self) -> None:
        slot = self.slot = self.state.slot(self.m.view, self.m.seq)
        self.votes = slot.prepares if self.prepares else slot.commits
        self.done = slot.prepared if self.prepares else slot.committed
        self.dirty = False

    def _flush(self) -> None:
        """Write the local slot back and move it along (prepared, committed, executed)."""
        if self.dirty:
            state = self.state.with_slot(self.slot)
            self.state, more = advance(self.r, self.me, state, self.slot.view, self.slot.seq)
            self.effects += more
            self._load()

    def _plainly_counts(self, vote: Prepare | Commit, counted: object) -> bool:
        if counted is not None or self.done or vote.digest != self.slot.digest:
            return False
        if not self.prepares:
            return True
        forwarded = vote.pre_prepare  # type: ignore[union-attr]
        return vote.sender != self.r.primary(vote.view) and (
            forwarded is None or forwarded is self.slot.pre_prepare or forwarded == self.slot.pre_prepare)

    def run(self) -> Step:
        r, me = self.r, self.me
        for vote in self.m.votes:
            if vote.sender == me:
                continue
            problem = r.bundled_vote_problem(me, vote)
            if problem is not None:
                self.effects.append(Reject(problem, vote))
                continue
            at, counted = vote_position(self.votes, vote.sender)
            if not self._plainly_counts(vote, counted):
                self._flush()
                step = r.counted_vote(me, self.state, vote)
                self.state = step.state
                self.effects += [e for e in step.effects if type(e) is not Defer]
                self._load()
                continue
            s = self.slot
            self.votes = votes = cast(Any, insert_vote(self.votes, at, vote))
            self.slot = (Slot(s.view, s.seq, s.pre_prepare, votes, s.commits, s.prepared, s.committed)
                         if self.prepares else
                         Slot(s.view, s.seq, s.pre_prepare, s.prepares, votes, s.prepared, s.committed))
            self.dirty = True
            if r.is_prepared(self.slot) if self.prepares else r.is_committed(self.slot):
                self._flush()
        self._flush()
        return Step(self.state, tuple(self.effects))
