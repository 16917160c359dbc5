"""The PBFT replica: screening, signature checks and dispatch to the phase handlers.

The thresholds and the few decisions a mutant may get wrong are methods here
(``is_prepared``, ``new_view_problem``, ``second_vote``...), so each mutant in
:mod:`.mutants` is a small override, not a copy of the protocol.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...core import (
    AgentId, Defer, Effect, Envelope, Message, PhaseGraph, PhaseTransition, Protocol, SetTimer, Step,
)
from . import catchup, checkpoint, normal, viewchange
from .auth import Signer, equivocation
from .common import duplicate_or_conflict, reject
from .config import PBFTConfig
from .messages import (
    MESSAGE_TYPES, Checkpoint, Commit, CommitCertificate, Decided, NewView, PrePrepare, Prepare, Request,
    ViewChange, chain_digest, request_digest,
)
from .state import NORMAL, VIEW_CHANGE, ReplicaState, Slot

PHASES = PhaseGraph("pbft", [NORMAL, VIEW_CHANGE], NORMAL, [
    PhaseTransition("timeout", NORMAL, VIEW_CHANGE, "pending request, timer expired"),
    PhaseTransition("join", NORMAL, VIEW_CHANGE, "f+1 VIEW-CHANGEs for higher views"),
    PhaseTransition("timeout", VIEW_CHANGE, VIEW_CHANGE, "no NEW-VIEW in time: next view, doubled timer"),
    PhaseTransition("join", VIEW_CHANGE, VIEW_CHANGE, "f+1 VIEW-CHANGEs for higher views"),
    PhaseTransition("new-view", VIEW_CHANGE, NORMAL, "valid NEW-VIEW, or 2f+1 VIEW-CHANGEs at the new primary"),
    PhaseTransition("new-view", NORMAL, NORMAL, "valid NEW-VIEW for a higher view"),
])


class PBFTReplica(Protocol):
    """Practical Byzantine Fault Tolerance (Castro and Liskov) over a bounded decision log."""

    name = "pbft"
    message_types = MESSAGE_TYPES

    def __init__(self, config: PBFTConfig) -> None:
        super().__init__(config.membership, config.session)
        self.config = config
        self.auth = config.auth
        self.f = config.f
        self._signers: dict[AgentId, Signer] = {}
        quorum = config.quorum
        self.prepare_quorum = quorum - 1  # prepares from distinct backups, besides the pre-prepare
        self.commit_quorum = quorum
        self.checkpoint_quorum = quorum
        self.new_view_quorum = quorum
        self.certificate_quorum = quorum  # signed commits a catch-up certificate must carry
        self.join_threshold = config.f + 1
        self._requests = {(q.sender, q.timestamp): q for q in config.requests}

    # --------------------------------------------------------------- helpers
    def signer(self, agent: AgentId) -> Signer:
        """``agent``'s own signing key (each replica only ever uses its own)."""
        if agent not in self._signers:
            self._signers[agent] = self.auth.signer(agent)
        return self._signers[agent]

    def primary(self, view: int) -> AgentId:
        return self.config.primary(view)

    def in_window(self, state: ReplicaState, seq: int) -> bool:
        """Between the low watermark (stable checkpoint) and the high one."""
        return state.stable_seq < seq <= state.stable_seq + self.config.watermark_window

    def valid_request(self, request: Request) -> bool:
        return (request.sender in self.config.requesters and request.session == self.session
                and self.auth.verify(request))

    def already_executed(self, state: ReplicaState, request: Request) -> bool:
        return request.timestamp <= state.executed_timestamp(request.sender)

    # ----------------------------------------------------- rules mutants change
    def view_mismatch(self, state: ReplicaState, view: int) -> str | None:
        return normal.view_mismatch(self, state, view)

    def is_prepared(self, slot: Slot) -> bool:
        if slot.pre_prepare is None:
            return False
        votes = normal.matching(slot.prepares, slot.digest, exclude=self.primary(slot.view))
        return len(votes) >= self.prepare_quorum

    def ready_for_commits(self, slot: Slot) -> bool:
        return slot.prepared

    def is_committed(self, slot: Slot) -> bool:
        return slot.prepared and len(normal.matching(slot.commits, slot.digest)) >= self.commit_quorum

    def second_vote(self, state: ReplicaState, counted: Message, incoming: Message) -> Step:
        return duplicate_or_conflict(state, counted, incoming)

    def second_pre_prepare(self, me: AgentId, state: ReplicaState, slot: Slot,
                           incoming: PrePrepare) -> Step | None:
        """What to do with another pre-prepare for a slot that has one (``None``: replace it)."""
        assert slot.pre_prepare is not None
        return duplicate_or_conflict(state, slot.pre_prepare, incoming)

    def stale_new_view(self, state: ReplicaState, m: NewView) -> bool:
        return m.view < state.view or (m.view == state.view and state.phase == NORMAL)

    def new_view_problem(self, m: NewView) -> str | None:
        return viewchange.new_view_problem(self, m)

    def certificate_problem(self, cert: CommitCertificate) -> str | None:
        return catchup.certificate_problem(self, cert)

    def commit_signature_ok(self, commit: Commit) -> bool:
        """Whether a commit inside a catch-up certificate carries its sender's valid signature."""
        return self.auth.verify(commit)

    def decided_again(self, me: AgentId, state: ReplicaState, m: Decided) -> Step:
        """A certificate for a sequence number already executed."""
        return catchup.already_adopted(self, me, state, m)

    def primary_equivocation(self, own: PrePrepare, shown: PrePrepare) -> tuple[Effect, ...]:
        """The evidence for two conflicting signed pre-prepares of one primary for one (view, seq)."""
        return (equivocation(own, shown),)

    def answers(self, me: AgentId, state: ReplicaState, message: Message) -> tuple[Effect, ...]:
        """Catch-up: certificates for a sender whose traffic shows it has not executed what we have."""
        return catchup.answers(self, me, state, message)

    # -------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        state = ReplicaState()
        effects = normal.timer_effects(self, agent, state)
        state, proposals = normal.propose(self, agent, state)
        return Step(state, tuple(e for e in effects if isinstance(e, SetTimer)) + tuple(proposals))

    def screen(self, agent: AgentId, message: Message) -> str | None:
        if isinstance(message, Request) and message.sender in self.config.requesters:
            return None if message.session == self.session else "wrong-session"
        return super().screen(agent, message)

    def on_message(self, agent: AgentId, state: ReplicaState, message: Message) -> Step:
        if not self.auth.verify(message):
            return reject(state, "bad-signature", message)
        step = self._dispatch(agent, state, message)
        if isinstance(message, (PrePrepare, Prepare, Commit, ViewChange)) and state.last_executed \
                and not any(isinstance(e, Defer) for e in step.effects):
            answers = self.answers(agent, state, message)
            if answers:
                return Step(step.state, step.effects + answers)
        return step

    def _dispatch(self, agent: AgentId, state: ReplicaState, message: Message) -> Step:
        if isinstance(message, Decided):
            return catchup.on_decided(self, agent, state, message)
        if isinstance(message, PrePrepare):
            return normal.on_pre_prepare(self, agent, state, message)
        if isinstance(message, Prepare):
            return normal.on_prepare(self, agent, state, message)
        if isinstance(message, Commit):
            return normal.on_commit(self, agent, state, message)
        if isinstance(message, Checkpoint):
            return checkpoint.on_checkpoint(self, agent, state, message)
        if isinstance(message, ViewChange):
            return viewchange.on_view_change(self, agent, state, message)
        if isinstance(message, NewView):
            return viewchange.on_new_view(self, agent, state, message)
        if (message.sender, message.timestamp) in self._requests:  # type: ignore[attr-defined]
            return reject(state, "duplicate", message)  # every replica already holds configured requests
        return reject(state, "unconfigured-request", message)

    def on_timer(self, agent: AgentId, state: ReplicaState, timer: str) -> Step:
        if timer != normal.VIEW_CHANGE_TIMER:
            return Step(state)
        return viewchange.on_timeout(self, agent, state)

    def decision_of(self, state: Any) -> Any:
        return None if state is None else state.last_executed

    def describe_state(self, state: ReplicaState) -> str:
        return (f"view={state.view} {state.phase} executed={state.last_executed} "
                f"stable={state.stable_seq} slots={len(state.slots)}")

    # ------------------------------------------------------------ adversaries
    def adversary_messages(self, faulty: AgentId) -> Iterable[Envelope]:
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
        cfg = self.config
        if cfg.adversary == "silent":
            return []
        sign = self.signer(faulty).sign
        s = self.session
        digests = [request_digest(q) for q in cfg.requests]
        out: list[Message] = []
        forged = sign(Request(session=s, sender=faulty, timestamp=1, operation=f"forged-by-{faulty}"))
        only_primary = cfg.adversary in ("primary", "lagging")
        for view in range(cfg.max_view + 1):
            leads = self.primary(view) == faulty
            if only_primary and not leads:
                continue
            for seq in range(1, cfg.max_seq + 1):
                if leads:
                    for q in cfg.requests if only_primary else (*cfg.requests, forged):
                        out.append(sign(PrePrepare(session=s, sender=faulty, view=view, seq=seq,
                                                   digest=request_digest(q), request=q)))
                    for q in (*cfg.requests, None):  # "certificates" only its own signature really backs
                        pp = sign(PrePrepare(session=s, sender=faulty, view=view, seq=seq,
                                             digest=request_digest(q), request=q))
                        out.append(sign(Decided(session=s, sender=faulty, seq=seq, certificate=CommitCertificate(
                            pp, self._fake_commits(faulty, pp)))))
                for d in digests:
                    if not leads:
                        out.append(sign(Prepare(session=s, sender=faulty, view=view, seq=seq, digest=d)))
                    out.append(sign(Commit(session=s, sender=faulty, view=view, seq=seq, digest=d)))
        if only_primary:  # "lagging" leaves the last replica out of everything it sends
            audience = self.agents[:-1] if cfg.adversary == "lagging" else self.agents
            return [Envelope(to, m) for m in out for to in audience if to != faulty]
        for view in range(1, cfg.max_view + 1):
            vc = sign(ViewChange(session=s, sender=faulty, view=view, stable_seq=0,
                                 checkpoint_proof=(), prepared=()))
            out.append(vc)
            if self.primary(view) == faulty:  # a NEW-VIEW backed by its own VIEW-CHANGE only
                out.append(sign(NewView(session=s, sender=faulty, view=view, view_changes=(vc,),
                                        pre_prepares=())))
                for q in cfg.requests:
                    pp = sign(PrePrepare(session=s, sender=faulty, view=view, seq=1,
                                         digest=request_digest(q), request=q))
                    out.append(sign(NewView(session=s, sender=faulty, view=view, view_changes=(vc,),
                                            pre_prepares=(pp,))))
        for seq in range(cfg.checkpoint_interval, cfg.max_seq + 1, cfg.checkpoint_interval):
            for digest in _reachable_digests(cfg.requests, seq):
                out.append(sign(Checkpoint(session=s, sender=faulty, seq=seq, digest=digest)))
        return [Envelope(to, m) for m in out for to in self.agents if to != faulty]

    def _fake_commits(self, faulty: AgentId, pp: PrePrepare) -> tuple[Commit, ...]:
        """Its own signed commit for ``pp`` plus commits it claims from the others (signatures it cannot make)."""
        out = []
        for agent in self.agents[: self.certificate_quorum]:
            commit = Commit(session=self.session, sender=agent, view=pp.view, seq=pp.seq, digest=pp.digest)
            out.append(self.signer(faulty).sign(commit) if agent == faulty
                       else commit.replace(signature=b"\x00" * 16))
        if faulty not in self.agents[: self.certificate_quorum]:
            out[-1] = self.signer(faulty).sign(Commit(session=self.session, sender=faulty, view=pp.view,
                                                      seq=pp.seq, digest=pp.digest))
        return tuple(sorted(out, key=lambda c: c.sender))

    def forged_messages(self) -> Iterable[Envelope]:
        """An outsider's messages: a non-member's vote and a member's vote with a bad signature."""
        digest = request_digest(self.config.requests[0]) if self.config.requests else b""
        outsider = Commit(session=self.session, sender="intruder", view=0, seq=1, digest=digest,
                          signature=b"\x00" * 16)
        forged = Commit(session=self.session, sender=self.agents[0], view=0, seq=1, digest=digest,
                        signature=b"\x00" * 16)
        return [Envelope(to, m) for m in (outsider, forged) for to in self.agents]


def _reachable_digests(requests: tuple[Request, ...], seq: int) -> list[bytes]:
    """State digests after ``seq`` executions of configured requests (null for repeats)."""
    from .messages import GENESIS_DIGEST, NULL_VALUE

    frontier = {GENESIS_DIGEST}
    values = [q.operation for q in requests] + [NULL_VALUE]
    for _ in range(seq):
        frontier = {chain_digest(d, v) for d in frontier for v in values}
    return sorted(frontier)
