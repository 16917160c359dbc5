"""Checkpoints, watermarks and garbage collection.

After executing a multiple of K a replica broadcasts a signed checkpoint of
its state digest. With 2f+1 matching checkpoints (at least f+1 of them from
honest replicas) the checkpoint is *stable*: it becomes the low watermark,
and log entries, checkpoints and view changes at or below it are discarded,
so the log never holds more than the watermark window. A replica counts
others' checkpoints for a sequence number once it has its own (earlier ones
are deferred); one that is behind adopts the stable checkpoint a
NEW-VIEW proves (PBFT's state transfer; moving the state body itself is
outside this model).
"""

from __future__ import annotations

from collections import defaultdict

from ...core import AgentId, Broadcast, Effect, Step
from .common import defer, first_from, reject
from .interface import Replica
from .messages import Checkpoint
from .state import ReplicaState, add_vote, replace


def take_checkpoint(r: Replica, me: AgentId, state: ReplicaState) -> tuple[ReplicaState, list[Effect]]:
    own = r.signer(me).sign(Checkpoint(session=r.session, sender=me, seq=state.last_executed,
                                       digest=state.state_digest))
    state = replace(state, checkpoints=add_vote(state.checkpoints, own))
    state = try_stabilise(r, state)
    return state, [Broadcast(own)]


def on_checkpoint(r: Replica, me: AgentId, state: ReplicaState, m: Checkpoint) -> Step:
    if m.seq % r.config.checkpoint_interval != 0 or not r.in_window(state, m.seq):
        return reject(state, "outside-watermarks", m)
    counted = first_from(state.checkpoints, m.sender, seq=m.seq)
    if counted is not None:
        return r.second_vote(state, counted, m)
    own = first_from(state.checkpoints, me, seq=m.seq)
    if own is None:
        return defer(state, m)  # counted once this replica reaches seq
    if m.digest != own.digest:
        return reject(state, "digest-mismatch", m)
    state = replace(state, checkpoints=add_vote(state.checkpoints, m))
    stable_before = state.stable_seq
    state = try_stabilise(r, state)
    if state.stable_seq == stable_before:
        return Step(state)
    state, proposals = r.propose(me, state)  # the window moved: the primary may assign more sequence numbers
    return Step(state, tuple(proposals))


def try_stabilise(r: Replica, state: ReplicaState) -> ReplicaState:
    """Make the highest checkpoint with a quorum of matching digests stable, and collect garbage."""
    if len(state.checkpoints) < r.checkpoint_quorum:
        return state  # no group can hold a quorum: skip grouping (O(n) per checkpoint otherwise)
    groups: dict[tuple[int, bytes], list[Checkpoint]] = defaultdict(list)
    for c in state.checkpoints:
        groups[(c.seq, c.digest)].append(c)
    ready = [(seq, digest) for (seq, digest), proof in groups.items()
             if seq > state.stable_seq and len(proof) >= r.checkpoint_quorum]
    if not ready:
        return state
    seq, digest = max(ready)
    return collect_garbage(r, state, seq, digest, tuple(groups[(seq, digest)]))


def collect_garbage(r: Replica, state: ReplicaState, seq: int, digest: bytes,
                    proof: tuple[Checkpoint, ...]) -> ReplicaState:
    """Install ``seq`` as the stable checkpoint and drop everything at or below it."""
    changes: dict[str, object] = {}
    if seq > state.last_executed:  # state transfer: adopt the proven state
        changes.update(last_executed=seq, state_digest=digest)
    return replace(
        state, stable_seq=seq, stable_proof=proof,
        slots=tuple(s for s in state.slots if s.seq > seq),
        checkpoints=tuple(c for c in state.checkpoints if c.seq > seq),
        **changes)


def valid_checkpoint_proof(r: Replica, seq: int, proof: tuple[Checkpoint, ...]) -> bool:
    """2f+1 validly signed checkpoints from distinct members for ``seq`` with one digest."""
    if seq == 0:
        return proof == ()
    senders = {c.sender for c in proof}
    return (len(senders) == len(proof) >= r.checkpoint_quorum
            and len({c.digest for c in proof}) == 1
            and all(c.seq == seq and c.session == r.session and c.sender in r.membership
                    and r.auth.verify(c) for c in proof))
