"""What a Byzantine PBFT replica may inject in the model checker, and what an outsider forges.

Moved from the replica unchanged (the same envelopes in the same order, so
the checked state spaces are too). How much a faulty replica says is the
configuration's ``adversary`` mode (:data:`.config.ADVERSARIES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from ...core import AgentId, Envelope, Message, Protocol
from ...core.adversary import Adversary
from .interface import Replica
from .messages import (
    GENESIS_DIGEST,
    NULL_VALUE,
    Checkpoint,
    Commit,
    CommitCertificate,
    Decided,
    NewView,
    Prepare,
    PrePrepare,
    Request,
    ViewChange,
    chain_digest,
    request_digest,
)


class PBFTAdversary(Adversary):
    """A Byzantine replica signs only with its own key; an outsider with none."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        """Everything ``faulty`` can sign within the bounds, to every other replica.

        It may equivocate (the network delivers different pre-prepares or votes
        to different replicas), vote for any requested value in any view, start
        view changes, send checkpoints for any reachable state, send a NEW-VIEW
        without a proof, send a catch-up certificate for its own pre-prepare
        whose other commits carry signatures it could not make, or stay silent.
        It cannot sign as anyone else, so it cannot forge a client request or
        another replica's vote. With ``adversary="silent"`` it sends nothing (a
        crashed or mute replica); with ``adversary="primary"`` only the
        pre-prepares, certificates and commits of the views it leads; with
        ``adversary="lagging"`` the same, to every replica but the last one.
        """
        r = cast(Replica, protocol)
        cfg = r.config
        if cfg.adversary == "silent":
            return []
        only_primary = cfg.adversary in ("primary", "lagging")
        out = _normal_case(r, faulty, only_primary)
        if only_primary:  # "lagging" leaves the last replica out of everything it sends
            audience = r.agents[:-1] if cfg.adversary == "lagging" else r.agents
            return [Envelope(to, m) for m in out for to in audience if to != faulty]
        out += _view_changes(r, faulty) + _checkpoints(r, faulty)
        return [Envelope(to, m) for m in out for to in r.agents if to != faulty]

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider's messages: a non-member's vote and a member's vote with a bad signature."""
        r = cast(Replica, protocol)
        digest = request_digest(r.config.requests[0]) if r.config.requests else b""
        outsider = Commit(session=r.session, sender="intruder", view=0, seq=1, digest=digest,
                          signature=b"\x00" * 16)
        forged = Commit(session=r.session, sender=r.agents[0], view=0, seq=1, digest=digest,
                        signature=b"\x00" * 16)
        return [Envelope(to, m) for m in (outsider, forged) for to in r.agents]


def _normal_case(r: Replica, faulty: AgentId, only_primary: bool) -> list[Message]:
    """Per view and sequence number: as primary its pre-prepares (a forged request too, unless it sends
    only its own views' messages) and certificates only its own signature backs; prepares as a backup;
    commits for every requested value."""
    cfg = r.config
    sign = r.signer(faulty).sign
    s = r.session
    digests = [request_digest(q) for q in cfg.requests]
    out: list[Message] = []
    forged = sign(Request(session=s, sender=faulty, timestamp=1, operation=f"forged-by-{faulty}"))
    for view in range(cfg.max_view + 1):
        leads = r.primary(view) == faulty
        if only_primary and not leads:
            continue
        for seq in range(1, cfg.max_seq + 1):
            if leads:
                for q in cfg.requests if only_primary else (*cfg.requests, forged):
                    out.append(sign(PrePrepare(session=s, sender=faulty, view=view, seq=seq,
                                               digest=request_digest(q), request=q)))
                for claimed in (*cfg.requests, None):  # "certificates" only its own signature really backs
                    pp = sign(PrePrepare(session=s, sender=faulty, view=view, seq=seq,
                                         digest=request_digest(claimed), request=claimed))
                    out.append(sign(Decided(session=s, sender=faulty, seq=seq, certificate=CommitCertificate(
                        pp, _fake_commits(r, faulty, pp)))))
            for d in digests:
                if not leads:
                    out.append(sign(Prepare(session=s, sender=faulty, view=view, seq=seq, digest=d)))
                out.append(sign(Commit(session=s, sender=faulty, view=view, seq=seq, digest=d)))
    return out


def _view_changes(r: Replica, faulty: AgentId) -> list[Message]:
    """A VIEW-CHANGE for every higher view; as its primary, a NEW-VIEW backed by that VIEW-CHANGE only."""
    cfg = r.config
    sign = r.signer(faulty).sign
    s = r.session
    out: list[Message] = []
    for view in range(1, cfg.max_view + 1):
        vc = sign(ViewChange(session=s, sender=faulty, view=view, stable_seq=0,
                             checkpoint_proof=(), prepared=()))
        out.append(vc)
        if r.primary(view) == faulty:  # a NEW-VIEW backed by its own VIEW-CHANGE only
            out.append(sign(NewView(session=s, sender=faulty, view=view, view_changes=(vc,),
                                    pre_prepares=())))
            for q in cfg.requests:
                pp = sign(PrePrepare(session=s, sender=faulty, view=view, seq=1,
                                     digest=request_digest(q), request=q))
                out.append(sign(NewView(session=s, sender=faulty, view=view, view_changes=(vc,),
                                        pre_prepares=(pp,))))
    return out


def _checkpoints(r: Replica, faulty: AgentId) -> list[Message]:
    """A checkpoint for every reachable state digest at every checkpoint sequence number."""
    cfg = r.config
    sign = r.signer(faulty).sign
    return [sign(Checkpoint(session=r.session, sender=faulty, seq=seq, digest=digest))
            for seq in range(cfg.checkpoint_interval, cfg.max_seq + 1, cfg.checkpoint_interval)
            for digest in _reachable_digests(cfg.requests, seq)]


def _fake_commits(r: Replica, faulty: AgentId, pp: PrePrepare) -> tuple[Commit, ...]:
    """Its own signed commit for ``pp`` plus commits it claims from the others (signatures it cannot make)."""
    out = []
    for agent in r.agents[: r.certificate_quorum]:
        commit = Commit(session=r.session, sender=agent, view=pp.view, seq=pp.seq, digest=pp.digest)
        out.append(r.signer(faulty).sign(commit) if agent == faulty
                   else commit.replace(signature=b"\x00" * 16))
    if faulty not in r.agents[: r.certificate_quorum]:
        out[-1] = r.signer(faulty).sign(Commit(session=r.session, sender=faulty, view=pp.view,
                                               seq=pp.seq, digest=pp.digest))
    return tuple(sorted(out, key=lambda c: c.sender))


def _reachable_digests(requests: tuple[Request, ...], seq: int) -> list[bytes]:
    """State digests after ``seq`` executions of configured requests (null for repeats)."""
    frontier = {GENESIS_DIGEST}
    values = [q.operation for q in requests] + [NULL_VALUE]
    for _ in range(seq):
        frontier = {chain_digest(d, v) for d in frontier for v in values}
    return sorted(frontier)
