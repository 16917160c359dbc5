"""View change: timers, VIEW-CHANGE with prepared certificates, NEW-VIEW and its validation.

A backup whose view-change timer expires moves to view v+1 and broadcasts a
VIEW-CHANGE carrying its stable checkpoint proof and, for every sequence
number above it, its highest-view prepared certificate (the pre-prepare plus
2f matching signed prepares). f+1 VIEW-CHANGEs for higher views pull a replica
along (at least one of them is honest); fewer never move it. The primary of
v, holding 2f+1 VIEW-CHANGEs for v, broadcasts NEW-VIEW with those messages
and the re-proposals they force; every replica recomputes the re-proposals
from the included VIEW-CHANGEs and rejects a NEW-VIEW that differs, so a value
that may have committed is never dropped or changed.
"""

from __future__ import annotations

from ...core import AgentId, Broadcast, Effect, SetTimer, Step
from .batching import batch_digest, batch_of, proposal_digest
from .checkpoint import collect_garbage, valid_checkpoint_proof
from .common import first_from, reject, shown_pre_prepare
from .interface import Replica
from .messages import NewView, PreparedCertificate, PrePrepare, ViewChange
from .normal import VIEW_CHANGE_TIMER, accept_pre_prepare, matching, pending_requests, propose
from .state import NORMAL, VIEW_CHANGE, ReplicaState, add_vote, replace


# ------------------------------------------------------------------ timers
def on_timeout(r: Replica, me: AgentId, state: ReplicaState) -> Step:
    if not pending_requests(r, state) or state.view + 1 > r.config.max_view:
        return Step(state)
    state = replace(state, suspected=state.suspected | {state.view})
    state, effects = start_view_change(r, me, state, state.view + 1)
    return Step(state, tuple(effects))


def view_change_timer(r: Replica, me: AgentId, state: ReplicaState) -> list[Effect]:
    """While waiting for view ``state.view`` to start, back off: base * 2**attempts."""
    if state.view + 1 > r.config.max_view or me == r.primary(state.view):
        return []
    return [SetTimer(VIEW_CHANGE_TIMER, r.config.base_timeout * 2 ** state.attempts)]


# ------------------------------------------------------------- view change
def prepared_certificates(r: Replica, state: ReplicaState) -> tuple[PreparedCertificate, ...]:
    """For every sequence number above the stable checkpoint, the highest-view prepared slot's proof."""
    best: dict[int, PreparedCertificate] = {}
    for slot in state.slots:  # sorted by (seq, view): later views overwrite earlier ones
        if slot.prepared and slot.pre_prepare is not None and slot.seq > state.stable_seq:
            prepares = tuple(matching(slot.prepares, slot.digest, exclude=r.primary(slot.view)))
            best[slot.seq] = PreparedCertificate(slot.pre_prepare, prepares)
    return tuple(best[s] for s in sorted(best))


def enter_view(r: Replica, state: ReplicaState, view: int, phase: str) -> ReplicaState:
    """Move to ``view``: keep only prepared or committed slots of older views (their certificates,
    :meth:`~.interface.Replica.kept_on_entering`) and the VIEW-CHANGEs still of use."""
    keep = tuple(s for s in state.slots if r.kept_on_entering(s, view))
    return replace(state, view=view, phase=phase, highest_view=max(state.highest_view, view), slots=keep,
                   view_changes=tuple(vc for vc in state.view_changes
                                      if vc.view > view or (vc.view == view and phase == VIEW_CHANGE)),
                   view_change_senders=frozenset(vs for vs in state.view_change_senders if vs[0] > view))


def start_view_change(r: Replica, me: AgentId, state: ReplicaState,
                      view: int) -> tuple[ReplicaState, list[Effect]]:
    state = enter_view(r, state, view, VIEW_CHANGE)
    state = replace(state, attempts=state.attempts + 1)
    own = r.signer(me).sign(ViewChange(
        session=r.session, sender=me, view=view, stable_seq=state.stable_seq,
        checkpoint_proof=state.stable_proof, prepared=prepared_certificates(r, state)))
    if me == r.primary(view):
        state = replace(state, view_changes=add_vote(state.view_changes, own))
    effects: list[Effect] = [Broadcast(own)] + view_change_timer(r, me, state)
    state, more = after_view_change_counted(r, me, state)
    return state, effects + more


def on_view_change(r: Replica, me: AgentId, state: ReplicaState, m: ViewChange) -> Step:
    if m.view < state.view or (m.view == state.view and state.phase == NORMAL):
        return reject(state, "stale-view", m)
    if m.view > r.config.max_view:
        return reject(state, "beyond-view-bound", m)
    if not valid_view_change(r, m):
        return reject(state, "bad-view-change", m)
    exposed: tuple[Effect, ...] = ()
    for cert in m.prepared:  # each carries the primary's signed pre-prepare: compare it with ours
        state, more = shown_pre_prepare(r, state, cert.pre_prepare)
        exposed += more
    step = count_view_change(r, me, state, m)
    return Step(step.state, exposed + step.effects) if exposed else step


def count_view_change(r: Replica, me: AgentId, state: ReplicaState, m: ViewChange) -> Step:
    leads = me == r.primary(m.view)
    if leads:  # the new primary keeps the messages: they are its NEW-VIEW proof
        counted = first_from(state.view_changes, m.sender, view=m.view)
        if counted is not None:
            return r.second_vote(state, counted, m)
        state = replace(state, view_changes=add_vote(state.view_changes, m))
    if m.view > state.view:  # the join rule needs only who asked for a higher view
        heard = (m.view, m.sender)
        if heard in state.view_change_senders and not leads:
            return Step(state)
        state = replace(state, view_change_senders=state.view_change_senders | {heard})
    elif not leads:
        return Step(state)  # a backup already changing to m.view has no use for it
    state, effects = after_view_change_counted(r, me, state)
    return Step(state, tuple(effects))


def after_view_change_counted(r: Replica, me: AgentId,
                              state: ReplicaState) -> tuple[ReplicaState, list[Effect]]:
    """Join a higher view on f+1 view changes; as the new primary, start the view on 2f+1."""
    higher = [(view, sender) for view, sender in state.view_change_senders if view > state.view and sender != me]
    if len({sender for _, sender in higher}) >= r.join_threshold:
        return start_view_change(r, me, state, min(view for view, _ in higher))
    if state.phase == VIEW_CHANGE and me == r.primary(state.view):
        proof = tuple(vc for vc in state.view_changes if vc.view == state.view)
        if len(proof) >= r.new_view_quorum:
            own = [vc for vc in proof if vc.sender == me]
            others = [vc for vc in proof if vc.sender != me][: r.new_view_quorum - len(own)]
            return send_new_view(r, me, state, tuple(sorted(own + others, key=lambda vc: vc.sender)))
    return state, []


def valid_certificate(r: Replica, cert: PreparedCertificate) -> bool:
    pp = cert.pre_prepare
    primary = r.primary(pp.view)
    if pp.sender != primary or pp.session != r.session or not r.auth.verify(pp):
        return False
    if pp.digest != proposal_digest(pp) or not all(r.valid_request(q) for q in batch_of(pp)):
        return False
    senders = {p.sender for p in cert.prepares}
    return (len(senders) == len(cert.prepares) >= r.prepare_quorum and primary not in senders
            and all(p.view == pp.view and p.seq == pp.seq and p.digest == pp.digest
                    and p.session == r.session and p.sender in r.membership and r.auth.verify(p)
                    for p in cert.prepares))


def valid_view_change(r: Replica, vc: ViewChange) -> bool:
    if not valid_checkpoint_proof(r, vc.stable_seq, vc.checkpoint_proof):
        return False
    seqs = [c.pre_prepare.seq for c in vc.prepared]
    if len(set(seqs)) != len(seqs):
        return False
    window = r.config.watermark_window
    return all(vc.stable_seq < c.pre_prepare.seq <= vc.stable_seq + window
               and c.pre_prepare.view < vc.view and valid_certificate(r, c) for c in vc.prepared)


# ---------------------------------------------------------------- new view
def reproposals(r: Replica, view: int, proof: tuple[ViewChange, ...]) -> tuple[PrePrepare, ...]:
    """The pre-prepares a NEW-VIEW for ``view`` must carry, computed from its VIEW-CHANGEs.

    Between the highest stable checkpoint and the highest prepared sequence
    number, each sequence number gets the value of its highest-view prepared
    certificate, or the null request if no view change carries one.
    """
    low = max((vc.stable_seq for vc in proof), default=0)
    certs = [c for vc in proof for c in vc.prepared if c.pre_prepare.seq > low]
    high = max((c.pre_prepare.seq for c in certs), default=low)
    out = []
    for seq in range(low + 1, high + 1):
        candidates = [c.pre_prepare for c in certs if c.pre_prepare.seq == seq]
        chosen = r.reproposed(candidates) if candidates else None
        batch = batch_of(chosen) if chosen else ()
        out.append(PrePrepare(session=r.session, sender=r.primary(view), view=view, seq=seq,
                              digest=batch_digest(batch), request=batch[0] if batch else None,
                              more=batch[1:]))
    return tuple(out)


def _unsigned(pp: PrePrepare) -> PrePrepare:
    return pp.replace(signature=b"")


def send_new_view(r: Replica, me: AgentId, state: ReplicaState,
                  proof: tuple[ViewChange, ...]) -> tuple[ReplicaState, list[Effect]]:
    signer = r.signer(me)
    pre_prepares = tuple(signer.sign(pp) for pp in reproposals(r, state.view, proof))
    new_view = signer.sign(NewView(session=r.session, sender=me, view=state.view,
                                   view_changes=proof, pre_prepares=pre_prepares))
    state, effects = install_new_view(r, me, state, new_view)
    return state, [Broadcast(new_view)] + effects


def new_view_problem(r: Replica, m: NewView) -> str | None:
    """Why ``m`` is not a valid NEW-VIEW, or ``None``."""
    proof = m.view_changes
    senders = {vc.sender for vc in proof}
    if len(senders) != len(proof) or len(proof) < r.new_view_quorum:
        return "new-view-without-quorum"
    if not all(vc.view == m.view and vc.session == r.session and vc.sender in r.membership
               and r.auth.verify(vc) and valid_view_change(r, vc) for vc in proof):
        return "new-view-bad-view-change"
    if not all(pp.sender == m.sender and r.auth.verify(pp) for pp in m.pre_prepares):
        return "new-view-bad-pre-prepare"
    if tuple(_unsigned(pp) for pp in m.pre_prepares) != reproposals(r, m.view, proof):
        return "new-view-wrong-reproposals"
    return None


def on_new_view(r: Replica, me: AgentId, state: ReplicaState, m: NewView) -> Step:
    if r.stale_new_view(state, m):
        return reject(state, "stale-view", m)
    if m.view > r.config.max_view:
        return reject(state, "beyond-view-bound", m)
    if m.sender != r.primary(m.view):
        return reject(state, "not-primary", m)
    problem = r.new_view_problem(m)
    if problem:
        return reject(state, problem, m)
    state, effects = install_new_view(r, me, state, m)
    return Step(state, tuple(effects))


def install_new_view(r: Replica, me: AgentId, state: ReplicaState,
                     m: NewView) -> tuple[ReplicaState, list[Effect]]:
    """Enter the new view: adopt its stable checkpoint, then process the re-proposals."""
    state = enter_view(r, state, m.view, NORMAL)
    best = max(m.view_changes, key=lambda vc: vc.stable_seq, default=None)
    if best is not None and best.stable_seq > state.stable_seq:
        digest = best.checkpoint_proof[0].digest
        state = collect_garbage(r, state, best.stable_seq, digest, best.checkpoint_proof)
    effects: list[Effect] = []
    for pp in m.pre_prepares:
        if r.in_window(state, pp.seq):
            state, more = accept_pre_prepare(r, me, state, pp)
            effects += more
    effects += view_change_timer(r, me, state) if pending_requests(r, state) else []
    state, more = propose(r, me, state)
    return state, effects + more
