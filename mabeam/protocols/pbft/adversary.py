"""What a Byzantine PBFT replica may inject in the model checker, and what an outsider forges.

:meth:`PBFTAdversary.messages` is the static adversary (the same envelopes in the
same order as when it lived in the replica, so the checked state spaces are too).
How much a faulty replica says is the configuration's ``adversary`` mode
(:data:`.config.ADVERSARIES`).

:meth:`PBFTAdversary.derived` is the Dolev-Yao adversary (``--adversary dolev-yao``):
besides the static messages, the coalition sends what it can build from the signed
messages it has learned (everything sent to a Byzantine replica, and every signed
message nested in those):

- **forward**: every learned signed message of another replica, nested ones
  included (a backup's forwarded pre-prepare, the VIEW-CHANGEs of a NEW-VIEW, the
  commits of a certificate), to every replica but its signer: a valid signature stays
  its signer's, whoever relays it;
- **commit certificates**: for a slot (view, seq, digest) whose pre-prepare it holds
  (learned, or its own where it is that view's primary), its own commit plus learned
  commits of q - 1 other replicas make a certificate, sent as its own DECIDED (the
  q - 1 lowest senders it has learned, so one certificate per slot and knowledge);
  the same commits under any other pre-prepare it holds for that (view, seq) make a
  mismatched certificate, and fewer than q - 1 learned commits, one of them repeated
  until there are q, a certificate of too few signers: receivers must refuse both;
- **prepared certificates**: the pre-prepare plus q - 1 prepares of distinct backups
  (its own prepare among them where it is a backup), carried by its VIEW-CHANGEs;
- **VIEW-CHANGEs** for every view within the bound: one carrying the highest-view
  certificate it can assemble per sequence number (what an honest replica would
  send), one per single certificate it can assemble (a stale one included), and one
  with the highest checkpoint proof it can assemble from learned checkpoints (its own
  among them);
- **NEW-VIEWs** for the views it leads: from every proof of q VIEW-CHANGEs of distinct
  senders among the learned ones and its own (at most one of its own), the
  re-proposals those VIEW-CHANGEs force, and, for receivers that do not recompute
  them, the same proof with the re-proposals dropped or with one sequence number's
  value replaced by another configured request or the null request;
- **vote bundles** (linear communication) are not assembled: a receiver counts a
  bundle's votes exactly as if each had been forwarded alone, in order
  (``tests/test_pbft_linear.py`` checks that), so forwarding covers them; what a
  bundle adds is only the votes it may carry unchecked, the forged bundles of
  :func:`_normal_case`;
- **relabelings** that keep the signature, which every receiver must refuse
  (``bad-signature``, or ``wrong-session`` on screening): a learned PREPARE as a
  COMMIT and back (the same view, sequence number and digest), a pre-prepare, prepare,
  commit or VIEW-CHANGE moved to every other view within the bound, a pre-prepare,
  prepare or commit moved to every other sequence number within the bound, and any
  learned message replayed into another session.

Everything is deduplicated and bounded by the configuration (views, sequence
numbers, configured requests), so it stays a small finite set per knowledge set.
A replica in ``adversary="silent"`` mode says nothing, derived or not; ``"lagging"``
withholds the derived messages from the last replica as it does its own; ``"relay"``
signs nothing up front and sends only what it derives (the smallest Dolev-Yao
adversary: the mutants that only it catches are checked with it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import combinations
from typing import Any, cast

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
    PreparedCertificate,
    PrePrepare,
    Request,
    ViewChange,
    VoteBundle,
    chain_digest,
    request_digest,
)
from .viewchange import reproposals

#: the session a relabeled replay is moved into (screening refuses it)
REPLAY_SESSION_SUFFIX = "/replayed"


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
        ``adversary="lagging"`` the same, to every replica but the last one;
        with ``adversary="relay"`` nothing up front (it only relays and assembles
        what it learns, see :meth:`derived`).
        """
        r = cast(Replica, protocol)
        cfg = r.config
        if cfg.adversary in ("silent", "relay"):
            return []
        only_primary = cfg.adversary in ("primary", "lagging")
        out = _normal_case(r, faulty, only_primary)
        if only_primary:  # "lagging" leaves the last replica out of everything it sends
            audience = r.agents[:-1] if cfg.adversary == "lagging" else r.agents
            return [Envelope(to, m) for m in out for to in audience if to != faulty]
        out += _view_changes(r, faulty) + _checkpoints(r, faulty)
        return [Envelope(to, m) for m in out for to in r.agents if to != faulty]

    def derived(self, protocol: Protocol, faulty: AgentId, knowledge: frozenset[Message]) -> Iterable[Envelope]:
        """The static messages plus everything ``faulty`` can build from ``knowledge`` (module docstring)."""
        r = cast(Replica, protocol)
        mode = r.config.adversary
        if mode == "silent":
            return []
        audience = r.agents[:-1] if mode == "lagging" else r.agents
        out: dict[Envelope, None] = dict.fromkeys(self.messages(protocol, faulty))
        parts = _parts(knowledge)
        own = _Own(r, faulty)
        messages: list[Message] = [m for m in parts if m.sender != faulty and not isinstance(m, Request)]
        messages += _decided_certificates(r, own, parts)
        if r.config.max_view >= 1:
            view_changes = _own_view_changes(r, own, parts)
            messages += view_changes
            messages += _new_views(r, own, parts, view_changes)
        messages += _relabeled(r, [m for m in knowledge if m.sender != faulty])
        for m in sorted(dict.fromkeys(messages), key=Message.canonical):
            for to in audience:
                if to != faulty and to != m.sender:
                    out[Envelope(to, m)] = None
        return list(out)

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
                if cfg.linear:
                    out += _forged_bundles(r, faulty, view, seq, digests)
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


def _forged_bundles(r: Replica, faulty: AgentId, view: int, seq: int, digests: list[bytes]) -> list[Message]:
    """Linear communication, as the primary of ``view``: per digest, a bundle of prepares and one of commits
    from every other replica, with signatures it could not make (receivers must refuse every vote)."""
    out: list[Message] = []
    others = [a for a in r.agents if a != faulty]
    for d in digests:
        for kind in (Prepare, Commit):
            votes = tuple(kind(session=r.session, sender=a, view=view, seq=seq, digest=d,
                               signature=b"\x00" * 16) for a in others)
            out.append(r.signer(faulty).sign(VoteBundle(session=r.session, sender=faulty, view=view, seq=seq,
                                                        votes=votes)))
    return out


def _reachable_digests(requests: tuple[Request, ...], seq: int) -> list[bytes]:
    """State digests after ``seq`` executions of configured requests (null for repeats)."""
    frontier = {GENESIS_DIGEST}
    values = [q.operation for q in requests] + [NULL_VALUE]
    for _ in range(seq):
        frontier = {chain_digest(d, v) for d in frontier for v in values}
    return sorted(frontier)


# ------------------------------------------------------------ Dolev-Yao derivations
def _nested(m: Message) -> list[Any]:
    """The signed messages directly inside ``m`` (a forwarded pre-prepare, a certificate's votes...)."""
    if isinstance(m, Prepare):
        return [m.pre_prepare]
    if isinstance(m, PrePrepare):
        return [m.request]
    if isinstance(m, ViewChange):
        return [*m.checkpoint_proof, *(x for cert in m.prepared for x in (cert.pre_prepare, *cert.prepares))]
    if isinstance(m, NewView):
        return [*m.view_changes, *m.pre_prepares]
    if isinstance(m, Decided):
        return [m.certificate.pre_prepare, *m.certificate.commits]
    if isinstance(m, VoteBundle):
        return list(m.votes)
    return []


def _parts(knowledge: Iterable[Message]) -> list[Message]:
    """Every signed message in ``knowledge`` and nested in it (canonical order, no duplicates)."""
    found: dict[Message, None] = {}

    def add(m: Any) -> None:
        if m is None or m in found:
            return
        found[m] = None
        for inner in _nested(m):
            add(inner)

    for m in sorted(knowledge, key=Message.canonical):
        add(m)
    return sorted(found, key=Message.canonical)


class _Own:
    """What the faulty replica signs as itself while deriving (memoised per run of :meth:`derived`)."""

    def __init__(self, r: Replica, faulty: AgentId) -> None:
        self.r, self.faulty = r, faulty
        self._sign = r.signer(faulty).sign

    def sign(self, m: Any) -> Any:
        return self._sign(m)

    def pre_prepares(self, view: int, seq: int) -> list[PrePrepare]:
        """Its pre-prepares for (view, seq), one per configured request, if it is that view's primary."""
        r = self.r
        if r.primary(view) != self.faulty:
            return []
        return [self.sign(PrePrepare(session=r.session, sender=self.faulty, view=view, seq=seq,
                                     digest=request_digest(q), request=q)) for q in r.config.requests]

    def commit(self, view: int, seq: int, digest: bytes) -> Commit:
        return self.sign(Commit(session=self.r.session, sender=self.faulty, view=view, seq=seq, digest=digest))

    def prepare(self, pp: PrePrepare) -> Prepare:
        return self.sign(Prepare(session=self.r.session, sender=self.faulty, view=pp.view, seq=pp.seq,
                                 digest=pp.digest, pre_prepare=pp))


def _valid_pre_prepares(r: Replica, own: _Own, parts: list[Message]) -> dict[tuple[int, int, bytes], PrePrepare]:
    """Per slot (view, seq, digest): a pre-prepare of that view's primary a certificate may carry."""
    found: dict[tuple[int, int, bytes], PrePrepare] = {}
    for m in parts:
        if isinstance(m, PrePrepare) and m.sender == r.primary(m.view) and m.sender != own.faulty \
                and m.digest == request_digest(m.request):
            found.setdefault((m.view, m.seq, m.digest), m)
    for view in range(r.config.max_view + 1):
        for seq in range(1, r.config.max_seq + 1):
            for pp in own.pre_prepares(view, seq):
                found.setdefault((view, seq, pp.digest), pp)
    return found


def _votes(parts: list[Message], kind: type, faulty: AgentId) -> dict[tuple[int, int, bytes], list[Any]]:
    """Learned votes of ``kind`` by other replicas, per slot, one per sender (sorted by sender)."""
    by_slot: dict[tuple[int, int, bytes], dict[AgentId, Any]] = {}
    for m in parts:
        if type(m) is kind and m.sender != faulty:
            vote = cast(Any, m)
            by_slot.setdefault((vote.view, vote.seq, vote.digest), {}).setdefault(vote.sender, vote)
    return {slot: [votes[s] for s in sorted(votes)] for slot, votes in by_slot.items()}


def _decided_certificates(r: Replica, own: _Own, parts: list[Message]) -> list[Decided]:
    """Its DECIDED for every slot where its own commit and learned ones make a quorum; and the same
    commits under every other pre-prepare it holds for that (view, seq) (a mismatched certificate,
    which receivers must refuse)."""
    pre_prepares = _valid_pre_prepares(r, own, parts)
    out = []
    for slot, commits in sorted(_votes(parts, Commit, own.faulty).items()):
        if len(commits) + 1 < r.certificate_quorum:
            continue
        chosen = tuple(sorted([own.commit(*slot), *commits[: r.certificate_quorum - 1]], key=lambda c: c.sender))
        view, seq, _digest = slot
        for (v, n, _d), pp in sorted(pre_prepares.items()):
            if (v, n) == (view, seq):
                cert = CommitCertificate(pp, chosen)
                out.append(own.sign(Decided(session=r.session, sender=own.faulty, seq=seq, certificate=cert)))
    for slot, commits in sorted(_votes(parts, Commit, own.faulty).items()):
        matching = pre_prepares.get(slot)
        if matching is not None and commits and len(commits) + 1 < r.certificate_quorum:  # pad with a repeat
            short = [own.commit(*slot), *commits]
            padded = tuple(sorted(short + [commits[0]] * (r.certificate_quorum - len(short)), key=lambda c: c.sender))
            out.append(own.sign(Decided(session=r.session, sender=own.faulty, seq=matching.seq,
                                        certificate=CommitCertificate(matching, padded))))
    return out


def _prepared_certificates(r: Replica, own: _Own, parts: list[Message]) -> list[PreparedCertificate]:
    """Every prepared certificate it can assemble: a primary's pre-prepare plus q - 1 backups' prepares."""
    certs: dict[PreparedCertificate, None] = {}
    for m in parts:  # certificates honest replicas already assembled (inside their VIEW-CHANGEs)
        if isinstance(m, ViewChange):
            certs.update(dict.fromkeys(m.prepared))
    prepares = _votes(parts, Prepare, own.faulty)
    for slot, pp in sorted(_valid_pre_prepares(r, own, parts).items()):
        primary = r.primary(slot[0])
        backing = [p for p in prepares.get(slot, []) if p.sender != primary]
        if own.faulty != primary:
            backing = [own.prepare(pp), *backing]
        if len(backing) >= r.prepare_quorum:
            chosen = sorted(backing[: r.prepare_quorum], key=lambda p: p.sender)
            certs[PreparedCertificate(pp, tuple(chosen))] = None
    return sorted(certs, key=lambda c: (c.pre_prepare.seq, c.pre_prepare.view, c.pre_prepare.digest,
                                        [p.sender for p in c.prepares]))


def _checkpoint_proof(r: Replica, own: _Own, parts: list[Message]) -> tuple[int, tuple[Checkpoint, ...]]:
    """The highest stable checkpoint it can prove: learned matching checkpoints plus its own."""
    groups: dict[tuple[int, bytes], dict[AgentId, Checkpoint]] = {}
    for m in parts:
        if isinstance(m, Checkpoint) and m.sender != own.faulty:
            groups.setdefault((m.seq, m.digest), {}).setdefault(m.sender, m)
    best: tuple[int, tuple[Checkpoint, ...]] = (0, ())
    for (seq, digest), by_sender in sorted(groups.items()):
        if len(by_sender) + 1 < r.checkpoint_quorum or seq <= best[0]:
            continue
        mine = own.sign(Checkpoint(session=r.session, sender=own.faulty, seq=seq, digest=digest))
        chosen = [mine, *(by_sender[s] for s in sorted(by_sender))][: r.checkpoint_quorum]
        best = (seq, tuple(sorted(chosen, key=lambda c: c.sender)))
    return best


def _own_view_changes(r: Replica, own: _Own, parts: list[Message]) -> list[ViewChange]:
    """Its VIEW-CHANGEs for every view within the bound, carrying certificates it assembled."""
    certs = _prepared_certificates(r, own, parts)
    stable, proof = _checkpoint_proof(r, own, parts)
    window = r.config.watermark_window
    out: dict[ViewChange, None] = {}

    def view_change(view: int, low: int, checkpoints: tuple[Checkpoint, ...],
                    chosen: Iterable[PreparedCertificate]) -> None:
        prepared = tuple(sorted(chosen, key=lambda c: c.pre_prepare.seq))
        out[own.sign(ViewChange(session=r.session, sender=own.faulty, view=view, stable_seq=low,
                                checkpoint_proof=checkpoints, prepared=prepared))] = None

    for view in range(1, r.config.max_view + 1):
        usable = [c for c in certs if c.pre_prepare.view < view]
        for low, checkpoints in dict.fromkeys([(0, ()), (stable, proof)]):
            above = [c for c in usable if low < c.pre_prepare.seq <= low + window]
            best: dict[int, PreparedCertificate] = {}
            for c in above:  # sorted by (seq, view, ...): later views overwrite earlier ones
                best[c.pre_prepare.seq] = c
            view_change(view, low, checkpoints, best.values())
            for c in above:
                view_change(view, low, checkpoints, (c,))
    return list(out)


def _new_views(r: Replica, own: _Own, parts: list[Message], mine: list[ViewChange]) -> list[NewView]:
    """Its NEW-VIEWs for the views it leads, from every proof of q VIEW-CHANGEs it holds."""
    out: dict[NewView, None] = {}
    learned: dict[tuple[int, AgentId], ViewChange] = {}
    for m in parts:
        if isinstance(m, ViewChange) and m.sender != own.faulty:
            learned.setdefault((m.view, m.sender), m)
    q = r.new_view_quorum
    values: list[Request | None] = [*r.config.requests, None]
    for view in range(1, r.config.max_view + 1):
        if r.primary(view) != own.faulty:
            continue
        others = [vc for (v, _), vc in sorted(learned.items()) if v == view]
        proofs = [tuple(chosen) for chosen in combinations(others, q)]
        for vc in (m for m in mine if m.view == view):
            proofs += [(vc, *chosen) for chosen in combinations(others, q - 1)]
        for proof in proofs:
            proof = tuple(sorted(proof, key=lambda m: m.sender))
            correct = reproposals(r, view, proof)
            variants = [correct, ()]
            seqs = [pp.seq for pp in correct] or list(range(1, r.config.max_seq + 1))
            for i, seq in enumerate(seqs):
                for value in values:
                    pp = PrePrepare(session=r.session, sender=own.faulty, view=view, seq=seq,
                                    digest=request_digest(value), request=value)
                    if correct:
                        if pp != correct[i]:
                            variants.append(correct[:i] + (pp,) + correct[i + 1:])
                    elif value is not None:
                        variants.append((pp,))
            for pre_prepares in dict.fromkeys(variants):
                out[own.sign(NewView(session=r.session, sender=own.faulty, view=view, view_changes=proof,
                                     pre_prepares=tuple(own.sign(pp) for pp in pre_prepares)))] = None
    return list(out)


def _relabeled(r: Replica, learned: Iterable[Message]) -> Iterator[Message]:
    """Learned signed messages moved to another kind, view, sequence number or session, signature kept."""
    views = range(r.config.max_view + 1)
    seqs = range(1, r.config.max_seq + 1)
    for m in learned:
        yield m.replace(session=r.session + REPLAY_SESSION_SUFFIX)
        if isinstance(m, Prepare):
            yield Commit(session=m.session, sender=m.sender, view=m.view, seq=m.seq, digest=m.digest,
                         signature=m.signature)
        elif isinstance(m, Commit):
            yield Prepare(session=m.session, sender=m.sender, view=m.view, seq=m.seq, digest=m.digest,
                          signature=m.signature)
        if isinstance(m, (PrePrepare, Prepare, Commit)):
            yield from (m.replace(view=v) for v in views if v != m.view)
            yield from (m.replace(seq=s) for s in seqs if s != m.seq)
        elif isinstance(m, ViewChange):
            yield from (m.replace(view=v) for v in views if v not in (0, m.view))
