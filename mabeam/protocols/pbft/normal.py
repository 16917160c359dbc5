"""The normal case: pre-prepare, prepare, commit, and in-order execution.

A backup accepts the primary's pre-prepare for (view, seq) and broadcasts a
prepare; with the pre-prepare and 2f matching prepares from distinct backups
the slot is *prepared* and the replica broadcasts a commit; with 2f+1 matching
commits it is *committed-local* and executes once every lower sequence number
has executed. Each sender's first vote per slot is kept; a different second
vote is equivocation and becomes evidence, never a replacement.

A message that cannot count *yet* (a prepare before its pre-prepare, a
commit before the slot is prepared, anything for a view the replica has not
entered, or entered but not yet started) is deferred: the state is unchanged
and the driver hands it back after the next state change, so the log holds
only votes that count. A vote that can never count (stale view, outside the
watermarks, a digest other than the pre-prepared one) is rejected. Once a
slot is prepared it ignores further prepares, and once committed further
commits: they could not change anything.

With linear communication (``PBFTConfig.communication = "linear"``) a backup
sends its prepare and its commit to the view's primary only; the primary,
once its slot is prepared (committed), broadcasts the prepares (commits) it
counted in one :class:`.messages.VoteBundle`, and every receiver counts each
enclosed vote as if its signer had sent it (:mod:`.linear`). That is about
5(n-1) messages per decision instead of 2n(n-1); a faulty primary that
withholds a bundle only stalls its view, which the view-change timers end.
"""

from __future__ import annotations

from typing import cast

from ...core import AgentId, Broadcast, CancelTimer, Decide, Effect, Reject, Send, SetTimer, Step
from .batching import BATCH_TIMER, batch_digest, batch_of, batch_value, chunks, proposal_digest
from .checkpoint import take_checkpoint
from .common import defer, first_from, reject, shown_pre_prepare, signed_by_primary
from .evidence import conflicting
from .interface import Replica
from .messages import Commit, CommitCertificate, Prepare, PrePrepare, Request, VoteBundle, chain_digest
from .state import NORMAL, ReplicaState, Slot, add_vote, insert_vote, replace, vote_position

VIEW_CHANGE_TIMER = "view-change"


#: view mismatches that may resolve themselves: the message is deferred, not rejected
NOT_YET = frozenset({"future-view", "view-change-in-progress"})


def view_mismatch(r: Replica, state: ReplicaState, view: int) -> str | None:
    """Why a normal-case message for ``view`` cannot be processed now, or ``None``."""
    if view < state.view:
        return "stale-view"
    if view > r.config.max_view:
        return "beyond-view-bound"
    if view > state.view:
        return "future-view"
    if state.phase != NORMAL:
        return "view-change-in-progress"
    return None


def view_screen(r: Replica, state: ReplicaState, m: PrePrepare | Prepare | Commit | VoteBundle) -> Step | None:
    """Defer or reject a normal-case message whose view does not match, else ``None``."""
    reason = r.view_mismatch(state, m.view)
    if reason is None:
        return None
    return defer(state, m) if reason in NOT_YET else reject(state, reason, m)


def on_pre_prepare(r: Replica, me: AgentId, state: ReplicaState, m: PrePrepare) -> Step:
    screened = view_screen(r, state, m)
    if screened is not None:
        return screened
    if m.sender != r.primary(m.view):
        return reject(state, "not-primary", m)
    if not r.in_window(state, m.seq):
        return reject(state, "outside-watermarks", m)
    if m.request is None:
        return exposing(r, state, m, "bad-request")
    if not r.valid_request(m.request) or (m.more and not valid_batch(r, m)):
        return reject(state, "bad-request", m)
    if m.digest != proposal_digest(m):
        return exposing(r, state, m, "digest-mismatch")
    state, effects = accept_pre_prepare(r, me, state, m)
    return Step(state, tuple(effects))


def exposing(r: Replica, state: ReplicaState, m: PrePrepare, reason: str) -> Step:
    """Refuse an unusable pre-prepare; if the primary signed another one for the slot, that is evidence.

    Used for a null request (only a NEW-VIEW may carry one) and a digest that does not match the
    request. One carrying a request no configured client signed is refused without evidence: it is
    equally conflicting, but the exhaustive check's adversary sends one, and reporting it doubled the
    standard state space (spec/pbft.md, "Checked bounds").
    """
    logged = state.slot(m.view, m.seq).pre_prepare
    if logged is None or not conflicting(logged, m):
        return reject(state, reason, m)
    if r.config.audit_pre_prepares:
        state = replace(state, pre_prepares_seen=state.pre_prepares_seen | {
            (logged.view, logged.seq, logged.digest), (m.view, m.seq, proposal_digest(m))})
    return Step(state, r.primary_equivocation(logged, m) + (Reject(reason, m),))


def accept_pre_prepare(r: Replica, me: AgentId, state: ReplicaState,
                       m: PrePrepare) -> tuple[ReplicaState, list[Effect]]:
    """Log a checked pre-prepare; a backup adds and broadcasts its own prepare."""
    if r.config.audit_pre_prepares:
        state = replace(state, pre_prepares_seen=state.pre_prepares_seen | {(m.view, m.seq, m.digest)})
    slot = state.slot(m.view, m.seq)
    if slot.pre_prepare is not None:
        step = r.second_pre_prepare(me, state, slot, m)
        if step is not None:
            return step.state, list(step.effects)
        # a replica that lets a second pre-prepare replace the first (a mutant) also withdraws its prepare
        slot = Slot(m.view, m.seq, m, tuple(p for p in slot.prepares if p.sender != me), slot.commits)
    else:
        slot = Slot(m.view, m.seq, m, slot.prepares, slot.commits, slot.prepared, slot.committed)
    effects: list[Effect] = []
    if me != r.primary(m.view):
        own = r.signer(me).sign(Prepare(session=r.session, sender=me, view=m.view, seq=m.seq,
                                        digest=m.digest, pre_prepare=m))
        if first_from(slot.prepares, me) is None:
            slot = Slot(slot.view, slot.seq, slot.pre_prepare, add_vote(slot.prepares, own),
                        slot.commits, slot.prepared, slot.committed)
            effects.append(vote_effect(r, me, own))
    state = state.with_slot(slot)
    state, more = advance(r, me, state, m.view, m.seq)
    return state, effects + more


def on_prepare(r: Replica, me: AgentId, state: ReplicaState, m: Prepare) -> Step:
    screened = view_screen(r, state, m)
    if screened is not None:
        return screened
    if m.sender == r.primary(m.view):
        return reject(state, "prepare-from-primary", m)
    if not r.in_window(state, m.seq):
        return reject(state, "outside-watermarks", m)
    forwarded = m.pre_prepare
    if forwarded is None:
        return count_prepare(r, me, state, m)
    if (forwarded.view, forwarded.seq, forwarded.digest) != (m.view, m.seq, m.digest):
        return reject(state, "bad-forwarded-pre-prepare", m)
    slot = state.slot(m.view, m.seq)
    if forwarded is slot.pre_prepare or forwarded == slot.pre_prepare:  # checked when it was logged
        return count_prepare(r, me, state, m, slot)
    if not signed_by_primary(r, forwarded):
        return reject(state, "bad-forwarded-pre-prepare", m)
    state, evidence = shown_pre_prepare(r, state, forwarded)  # the primary told us something else
    step = count_prepare(r, me, state, m)
    return Step(step.state, evidence + step.effects) if evidence else step


def count_prepare(r: Replica, me: AgentId, state: ReplicaState, m: Prepare, slot: Slot | None = None) -> Step:
    """Count a screened prepare towards its slot (or defer, reject, or expose its sender)."""
    if slot is None:
        slot = state.slot(state.view, m.seq)
    at, counted = vote_position(slot.prepares, m.sender)
    if counted is not None:
        return r.second_vote(state, counted, m)  # evidence if it conflicts, even once prepared
    if slot.prepared:
        return Step(state)  # a prepared slot needs no more prepares
    if slot.pre_prepare is None:
        return defer(state, m)
    if m.digest != slot.digest:
        return reject(state, "digest-mismatch", m)
    slot = Slot(slot.view, slot.seq, slot.pre_prepare, insert_vote(slot.prepares, at, m), slot.commits,
                slot.prepared, slot.committed)
    state, effects = advance(r, me, state.with_slot(slot), slot.view, slot.seq)
    return Step(state, tuple(effects))


def on_commit(r: Replica, me: AgentId, state: ReplicaState, m: Commit) -> Step:
    screened = view_screen(r, state, m)
    if screened is not None:
        return screened
    if not r.in_window(state, m.seq):
        return reject(state, "outside-watermarks", m)
    slot = state.slot(state.view, m.seq)
    at, counted = vote_position(slot.commits, m.sender)
    if counted is not None:
        return r.second_vote(state, counted, m)  # evidence if it conflicts, even once committed
    if slot.committed:
        return Step(state)  # a committed slot needs no more commits
    if not r.ready_for_commits(slot):
        return defer(state, m)
    if m.digest != slot.digest:
        return reject(state, "digest-mismatch", m)
    slot = Slot(slot.view, slot.seq, slot.pre_prepare, slot.prepares, insert_vote(slot.commits, at, m),
                slot.prepared, slot.committed)
    state, effects = advance(r, me, state.with_slot(slot), slot.view, slot.seq)
    return Step(state, tuple(effects))


def vote_effect(r: Replica, me: AgentId, vote: Prepare | Commit) -> Effect:
    """How ``me`` sends its own vote: to every replica, or (linear communication) to the view's primary."""
    if r.config.linear:
        collector = r.primary(vote.view)
        if me != collector:
            return Send(collector, vote)
    return Broadcast(vote)


def matching(votes: tuple, digest: bytes | None, exclude: AgentId | None = None) -> list:
    return [v for v in votes if v.digest == digest and v.sender != exclude]


def advance(r: Replica, me: AgentId, state: ReplicaState, view: int,
            seq: int) -> tuple[ReplicaState, list[Effect]]:
    """Move one slot along prepared -> committed-local, then execute what is ready."""
    slot = unchanged = state.slot(view, seq)
    effects: list[Effect] = []
    collects = r.config.linear and me == r.primary(view)  # linear communication: relays each phase
    if not slot.prepared and r.is_prepared(slot):
        slot = Slot(slot.view, slot.seq, slot.pre_prepare, slot.prepares, slot.commits, True, False)
        state = replace(state, prepared_log=state.prepared_log | {(view, seq, slot.digest)})
        own = r.signer(me).sign(Commit(session=r.session, sender=me, view=view, seq=seq,
                                       digest=cast(bytes, slot.digest)))  # a prepared slot has a pre-prepare
        if first_from(slot.commits, me) is None:
            slot = Slot(slot.view, slot.seq, slot.pre_prepare, slot.prepares,
                        add_vote(slot.commits, own), True, False)
            if not collects:  # the collector's own commit goes in its commit bundle
                effects.append(vote_effect(r, me, own))
        if collects:
            effects += r.relay(me, matching(slot.prepares, slot.digest, exclude=me), view, seq)
    if not slot.committed and r.is_committed(slot):
        slot = Slot(slot.view, slot.seq, slot.pre_prepare, slot.prepares, slot.commits, slot.prepared, True)
        state = replace(state, committed_log=state.committed_log | {(view, seq, slot.digest)})
        if collects:
            effects += r.relay(me, matching(slot.commits, slot.digest), view, seq)
    if slot is not unchanged:
        state = state.with_slot(slot)
    if slot.committed:
        state, more = execute_ready(r, me, state)
        effects += more
    return state, effects


def execute_ready(r: Replica, me: AgentId, state: ReplicaState) -> tuple[ReplicaState, list[Effect]]:
    """Execute committed slots in sequence order; a request already executed decides the null value."""
    effects: list[Effect] = []
    progressed = False
    while True:
        seq = state.last_executed + 1
        ready = [s for s in state.slots if s.seq == seq and s.committed]
        if not ready:
            break
        slot = max(ready, key=lambda s: s.view)
        table = state.client_table
        fresh: list[Request] = []  # the batch's requests not executed before (none: the null value)
        for request in (batch_of(slot.pre_prepare) if slot.pre_prepare else ()):
            if not r.already_executed(state, request):
                fresh.append(request)
                table = tuple(sorted({**dict(table), request.sender: request.timestamp}.items()))
                state = replace(state, client_table=table)
        value = batch_value(tuple(fresh))
        certificate = CommitCertificate(cast(PrePrepare, slot.pre_prepare),  # committed: pre-prepared
                                        tuple(matching(slot.commits, slot.digest)))
        state = replace(state, last_executed=seq, state_digest=chain_digest(state.state_digest, value),
                        client_table=table, decision_proofs=state.decision_proofs + (certificate,),
                        attempts=0)
        effects.append(Decide(value, seq))
        progressed = True
        if seq % r.config.checkpoint_interval == 0:
            state, more = take_checkpoint(r, me, state)
            effects += more
    if progressed:
        effects += timer_effects(r, me, state)
        state, more = propose(r, me, state)
        effects += more
    return state, effects


def pending_requests(r: Replica, state: ReplicaState) -> list:
    return [q for q in r.config.requests if not r.already_executed(state, q)]


def timer_effects(r: Replica, me: AgentId, state: ReplicaState) -> list[Effect]:
    """A backup waits for its pending requests with a timer that doubles on every failed view."""
    waiting = bool(pending_requests(r, state)) and state.last_executed < r.config.max_seq
    if waiting and me != r.primary(state.view) and state.view < r.config.max_view:
        return [SetTimer(VIEW_CHANGE_TIMER, r.config.base_timeout * 2 ** state.attempts)]
    return [CancelTimer(VIEW_CHANGE_TIMER)]


def propose(r: Replica, me: AgentId, state: ReplicaState,
            flush: bool = False) -> tuple[ReplicaState, list[Effect]]:
    """The primary assigns the next sequence numbers to batches of pending requests not yet assigned in
    its view (:mod:`.batching`; one request per batch by default). A partial batch waits for the batch
    timer unless ``flush`` (the timer fired) or ``batch_timeout`` is 0."""
    if me != r.primary(state.view) or state.phase != NORMAL:
        return state, []
    effects: list[Effect] = []
    current = [s for s in state.slots if s.view == state.view and s.pre_prepare is not None]
    assigned = {q for s in current for q in batch_of(cast(PrePrepare, s.pre_prepare))}
    top = max([state.last_executed, state.stable_seq] + [s.seq for s in current])
    config = r.config
    for batch in chunks([q for q in pending_requests(r, state) if q not in assigned], config.batch_size):
        seq = top + 1
        if seq > config.max_seq or not r.in_window(state, seq):
            break
        if len(batch) < config.batch_size and config.batch_timeout > 0 and not flush:
            effects.append(SetTimer(BATCH_TIMER, config.batch_timeout))  # wait for the batch to fill
            break
        pp = r.signer(me).sign(PrePrepare(session=r.session, sender=me, view=state.view, seq=seq,
                                          digest=batch_digest(batch), request=batch[0], more=batch[1:]))
        state, more = accept_pre_prepare(r, me, state, pp)
        effects += [Broadcast(pp)] + more
        top = seq
    return state, effects


def valid_batch(r: Replica, m: PrePrepare) -> bool:
    """Every request of a batch is a configured client's signed request, and none appears twice."""
    batch = batch_of(m)
    return (len(batch) <= r.config.batch_size and len(set(batch)) == len(batch)
            and all(r.valid_request(q) for q in batch))
