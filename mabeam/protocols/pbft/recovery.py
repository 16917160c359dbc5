"""Crash-recover: what a replica keeps on stable storage, and how it restarts from it.

A replica that forgets what it signed may sign something else for the same
(view, seq) after a restart, and the two signatures are equivocation evidence
against an honest replica; one that forgets a prepared certificate may let a
view change drop a value that committed. So before any message leaves, a
driver with stable storage writes :func:`durable_part` of the new state:

- the view, phase and view-change attempts; the stable checkpoint and its
  proof; what was executed (the digest, the client table, the commit
  certificate of every executed sequence number); the history fields;
- every log slot's pre-prepare and the replica's own prepare and commit, with
  the certificate a slot already has (all prepares once prepared, all commits
  once committed);
- its own checkpoints and, for views it leads, its own VIEW-CHANGE.

Votes from others that have not formed a certificate, others' checkpoints
and VIEW-CHANGEs, and timers are volatile: losing them costs only time.

:func:`recover` restarts from that value: it re-announces the decisions it
had made (decisions are a set: the same one again changes nothing), re-sends
its own signed messages for the slots of the current view it has not executed
(identical bytes, which receivers count once), and arms its view-change timer
while requests are pending, the primary's too, so a replica that cannot finish
on its own moves to a VIEW-CHANGE, which decided replicas answer with commit
certificates (:mod:`.catchup`), or adopts a newer stable checkpoint through the
next NEW-VIEW (:mod:`.checkpoint`). It never signs anything at restart.
"""

from __future__ import annotations

from ...core import AgentId, Broadcast, Decide, Effect, Message, SetTimer, Step
from .batching import batch_of, batch_value
from .interface import Replica
from .messages import Commit, Prepare
from .normal import VIEW_CHANGE_TIMER, matching, pending_requests, vote_effect
from .state import NORMAL, ReplicaState, Slot, replace


def durable_part(me: AgentId, state: ReplicaState) -> ReplicaState:
    """``state`` without what ``me`` may lose in a crash (see the module docstring)."""
    slots = []
    for s in state.slots:
        own_prepares = tuple(p for p in s.prepares if p.sender == me)
        own_commits = tuple(c for c in s.commits if c.sender == me)
        if s.pre_prepare is None and not own_prepares and not own_commits:
            continue
        slots.append(Slot(s.view, s.seq, s.pre_prepare, s.prepares if s.prepared else own_prepares,
                          s.commits if s.committed else own_commits, s.prepared, s.committed))
    return replace(state, slots=tuple(slots),
                   checkpoints=tuple(c for c in state.checkpoints if c.sender == me),
                   view_changes=tuple(vc for vc in state.view_changes if vc.sender == me),
                   view_change_senders=frozenset())


def decided_values(state: ReplicaState) -> list[tuple[int, str]]:
    """(seq, value) of every sequence number the replica executed itself, recomputed from its certificates
    as execution computed them (a request already executed decides the null value)."""
    executed: dict[AgentId, int] = {}
    out = []
    for cert in state.decision_proofs:
        fresh = []
        for request in batch_of(cert.pre_prepare):
            if request.timestamp > executed.get(request.sender, 0):
                executed[request.sender] = request.timestamp
                fresh.append(request)
        out.append((cert.seq, batch_value(tuple(fresh))))
    return out


def own_messages(me: AgentId, state: ReplicaState) -> list[Message]:
    """``me``'s signed messages for the current view's slots it has not executed, and its checkpoints."""
    out: list[Message] = []
    for s in state.slots:
        if s.view != state.view or s.seq <= state.last_executed:
            continue
        if s.pre_prepare is not None and s.pre_prepare.sender == me:
            out.append(s.pre_prepare)
        out += [p for p in s.prepares if p.sender == me]
        out += [c for c in s.commits if c.sender == me]
    out += [c for c in state.checkpoints if c.sender == me and c.seq > state.stable_seq]
    return out


def relays(r: Replica, me: AgentId, state: ReplicaState) -> list[Effect]:
    """Linear communication: a primary's bundles for its view's unexecuted slots, sent again after a restart
    (they may have been lost with the crash, and no backup can make progress without them)."""
    if not r.config.linear or me != r.primary(state.view):
        return []
    out: list[Effect] = []
    for s in state.slots:
        if s.view == state.view and s.seq > state.last_executed and s.prepared:
            out += r.relay(me, matching(s.prepares, s.digest, exclude=me), s.view, s.seq)
            if s.committed:
                out += r.relay(me, matching(s.commits, s.digest), s.view, s.seq)
    return out


def recover(r: Replica, me: AgentId, durable: ReplicaState) -> Step:
    """Restart ``me`` from its durable state (see the module docstring)."""
    state = durable
    effects: list[Effect] = [Decide(value, seq) for seq, value in decided_values(state)]
    if state.phase == NORMAL:
        effects += [vote_effect(r, me, m) if isinstance(m, (Prepare, Commit)) else Broadcast(m)
                    for m in own_messages(me, state)]
        effects += relays(r, me, state)
    waiting = bool(pending_requests(r, state)) and state.last_executed < r.config.max_seq
    if waiting and state.view < r.config.max_view:
        effects.append(SetTimer(VIEW_CHANGE_TIMER, r.config.base_timeout * 2 ** state.attempts))
    return Step(state, tuple(effects))



#: what a signed message adds around its fields (tag, session, sender, view, seq, digest, an Ed25519 signature)
_ENVELOPE = 400


def message_bound(r: Replica) -> int:
    """An upper bound on the canonical size of any PBFT message of this instance (a NEW-VIEW is the largest)."""
    request = max((len(q.canonical()) for q in r.config.requests), default=0) + _ENVELOPE
    pre_prepare = r.config.batch_size * request + _ENVELOPE  # a batch of up to batch_size requests
    prepare = pre_prepare + _ENVELOPE  # forwards the pre-prepare
    certificate = pre_prepare + (r.prepare_quorum + 1) * prepare
    window = r.config.watermark_window
    view_change = window * certificate + r.checkpoint_quorum * _ENVELOPE + _ENVELOPE
    new_view = r.new_view_quorum * view_change + window * pre_prepare + _ENVELOPE
    bundle = r.config.n * prepare + _ENVELOPE  # a VoteBundle: at most one vote per member
    return max(new_view, bundle)
