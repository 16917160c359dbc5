"""Catch-up: a decided replica hands its commit certificate to one that is still working on the slot.

A replica misled by an equivocating primary, cut off by a partition, or moved
ahead in views may never see the commits of the view in which a request
committed. Every replica that executed a sequence number keeps its commit
certificate (the primary's signed pre-prepare plus a quorum of matching signed
commits) and sends it, as a DECIDED message, to any member whose traffic shows
it is still working on that sequence number: a pre-prepare, prepare or commit
for it in another view or for another value, or a VIEW-CHANGE whose stable
checkpoint is below it (a replica that keeps timing out asks this way). Answers are values: a duplicating network may
deliver them any number of times and the receiver adopts a certificate once.

The receiver checks the certificate on its own (it trusts nobody's word): a
quorum of distinct members' valid signatures on commits for the pre-prepare's
(view, seq, digest), the primary's signature on the pre-prepare, and a request
whose digest matches and that a configured requester signed. A quorum of
commits contains f+1 honest replicas that prepared the value, and any other
quorum that commits or carries a prepared certificate into a later view shares
an honest replica with it, so adopting never contradicts a decision
(spec/pbft.md, "Catch-up"; Z3 check in models/pbft.py).
"""

from __future__ import annotations

from ...core import AgentId, Effect, Message, Reject, Send, Step
from .batching import batch_of, proposal_digest
from .common import defer, reject, shown_pre_prepare
from .interface import Replica
from .messages import Commit, CommitCertificate, Decided, Prepare, PrePrepare, ViewChange
from .normal import execute_ready
from .state import ReplicaState, Slot


# ---------------------------------------------------------------- answering
def certificate_for(state: ReplicaState, seq: int) -> CommitCertificate | None:
    """The certificate of an executed ``seq`` (``decision_proofs`` is in sequence order from 1)."""
    if 1 <= seq <= len(state.decision_proofs):
        cert = state.decision_proofs[seq - 1]
        return cert if cert.seq == seq else None
    return None


def asked_for(state: ReplicaState, message: Message) -> tuple[CommitCertificate, ...]:
    """The certificates ``message`` shows its sender lacks.

    A VIEW-CHANGE asks for everything above its stable checkpoint (its sender
    gave up waiting); a normal-case message for an executed sequence number asks
    only if it is for another view or value than the certificate's. A replica
    on the certificate's own view and value needs no answer to make progress
    there, and leaving it out keeps the exhaustive check small; should it stay
    stuck, its timer turns it into a VIEW-CHANGE, which is answered.
    """
    if isinstance(message, ViewChange):
        certs = (certificate_for(state, seq) for seq in range(message.stable_seq + 1, state.last_executed + 1))
        return tuple(c for c in certs if c is not None)
    if isinstance(message, (PrePrepare, Prepare, Commit)) and message.seq <= state.last_executed:
        cert = certificate_for(state, message.seq)
        if cert is not None and (message.view, message.digest) != (cert.view, cert.pre_prepare.digest):
            return (cert,)
    return ()


def answers(r: Replica, me: AgentId, state: ReplicaState, message: Message) -> tuple[Effect, ...]:
    """DECIDED messages for the sender of stale traffic (one per certificate it lacks)."""
    if message.sender == me or message.sender not in r.membership:
        return ()
    sign = r.signer(me).sign
    return tuple(Send(message.sender, sign(Decided(session=r.session, sender=me, seq=cert.seq, certificate=cert)))
                 for cert in asked_for(state, message))


# ---------------------------------------------------------------- adopting
def certificate_problem(r: Replica, cert: CommitCertificate) -> str | None:
    """Why ``cert`` does not prove that its pre-prepare committed, or ``None``."""
    pp = cert.pre_prepare
    if (pp.session != r.session or pp.sender != r.primary(pp.view) or not r.auth.verify(pp)
            or pp.digest != proposal_digest(pp)):
        return "bad-certificate-pre-prepare"
    if not all(r.valid_request(q) for q in batch_of(pp)):
        return "bad-certificate-request"
    senders = {c.sender for c in cert.commits}
    if len(senders) != len(cert.commits) or not senders <= set(r.membership):
        return "bad-certificate-senders"
    if not all(c.session == r.session and c.view == pp.view and c.seq == pp.seq and c.digest == pp.digest
               for c in cert.commits):
        return "bad-certificate-commit"
    if not all(r.commit_signature_ok(c) for c in cert.commits):
        return "bad-certificate-signature"
    if len(cert.commits) < r.certificate_quorum:
        return "bad-certificate-quorum"
    return None


def on_decided(r: Replica, me: AgentId, state: ReplicaState, m: Decided) -> Step:
    cert = m.certificate
    if m.seq != cert.seq:
        return reject(state, "bad-certificate-seq", m)
    problem = r.certificate_problem(cert)
    if problem:
        return reject(state, problem, m)
    if cert.seq <= state.last_executed:
        return r.decided_again(me, state, m)
    if cert.seq > state.last_executed + 1:
        return defer(state, m)  # adopted in order, once the sequence numbers below it are executed
    return Step(*adopt(r, me, state, cert))


def already_adopted(r: Replica, me: AgentId, state: ReplicaState, m: Decided) -> Step:
    """A certificate for an executed sequence number: nothing to adopt, but it may expose the primary."""
    state, effects = shown_pre_prepare(r, state, m.certificate.pre_prepare)
    return Step(state, effects + (Reject("already-decided", m),))


def adopt(r: Replica, me: AgentId, state: ReplicaState,
          cert: CommitCertificate) -> tuple[ReplicaState, tuple[Effect, ...]]:
    """Log ``cert`` as a committed slot (exposing a conflicting logged pre-prepare) and execute."""
    state, effects = shown_pre_prepare(r, state, cert.pre_prepare)
    old = state.slot(cert.view, cert.seq)
    same = old.pre_prepare is not None and old.digest == cert.pre_prepare.digest
    commits = tuple(sorted(cert.commits, key=lambda c: c.sender))  # a state's votes are sorted by sender
    slot = Slot(cert.view, cert.seq, cert.pre_prepare, old.prepares if same else (), commits,
                old.prepared and same, True)
    state = state.with_slot(slot)
    state, more = execute_ready(r, me, state)
    return state, effects + tuple(more)
