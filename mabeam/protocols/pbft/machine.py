"""The PBFT replica: screening, signature checks and dispatch to the phase handlers.

The thresholds and the few decisions a mutant may get wrong are methods here
(``is_prepared``, ``new_view_problem``, ``second_vote``...), so each mutant in
:mod:`.mutants` is a small override, not a copy of the protocol. The handler
modules see this class only through :class:`.interface.Replica`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ...core import AgentId, Defer, Effect, Message, Protocol, SetTimer, Step
from ...core.auth import Signer
from .. import resigned
from . import catchup, checkpoint, linear, normal, recovery, viewchange
from .adversary import PBFTAdversary
from .batching import BATCH_TIMER
from .common import duplicate_or_conflict, reject
from .config import PBFTConfig, join_threshold
from .evidence import equivocation
from .messages import (
    MESSAGE_TYPES,
    Checkpoint,
    Commit,
    CommitCertificate,
    Decided,
    NewView,
    Prepare,
    PrePrepare,
    Request,
    ViewChange,
    VoteBundle,
)
from .properties import PROPERTIES
from .state import NORMAL, ReplicaState, Slot

#: the phase handler of each wire type (``_dispatch``'s fast path; the isinstance chain stays for subclasses)
_HANDLERS: dict[type, Callable[..., Step]] = {
    Decided: catchup.on_decided, PrePrepare: normal.on_pre_prepare, Prepare: normal.on_prepare,
    Commit: normal.on_commit, Checkpoint: checkpoint.on_checkpoint, ViewChange: viewchange.on_view_change,
    NewView: viewchange.on_new_view, VoteBundle: linear.on_votes,
}


class PBFTReplica(Protocol):
    """Practical Byzantine Fault Tolerance (Castro and Liskov) over a bounded decision log."""

    name = "pbft"
    message_types = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = PBFTAdversary()
    durable_type = ReplicaState

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
        self.join_threshold = join_threshold(config.f)
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
        if slot.pre_prepare is None or len(slot.prepares) < self.prepare_quorum:
            return False  # too few votes of any digest: no need to filter them
        votes = normal.matching(slot.prepares, slot.digest, exclude=self.primary(slot.view))
        return len(votes) >= self.prepare_quorum

    def ready_for_commits(self, slot: Slot) -> bool:
        return slot.prepared

    def is_committed(self, slot: Slot) -> bool:
        return (slot.prepared and len(slot.commits) >= self.commit_quorum
                and len(normal.matching(slot.commits, slot.digest)) >= self.commit_quorum)

    def second_vote(self, state: ReplicaState, counted: Message, incoming: Message) -> Step:
        return duplicate_or_conflict(state, counted, incoming)

    def second_pre_prepare(self, me: AgentId, state: ReplicaState, slot: Slot,
                           incoming: PrePrepare) -> Step | None:
        """What to do with another pre-prepare for a slot that has one (``None``: replace it)."""
        assert slot.pre_prepare is not None
        return duplicate_or_conflict(state, slot.pre_prepare, incoming)

    def kept_on_entering(self, slot: Slot, view: int) -> bool:
        """Whether ``slot`` survives entering ``view``: a slot of that view or later, or one prepared or
        committed (its certificate goes into VIEW-CHANGEs)."""
        return slot.view >= view or slot.prepared or slot.committed

    def reproposed(self, candidates: list[PrePrepare]) -> PrePrepare:
        """Which of the prepared certificates' pre-prepares for one sequence number a NEW-VIEW re-proposes:
        the highest view's (a tie, impossible between valid certificates, goes to the higher digest)."""
        return max(candidates, key=lambda pp: (pp.view, pp.digest))

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

    def propose(self, me: AgentId, state: ReplicaState) -> tuple[ReplicaState, list[Effect]]:
        """The primary assigns sequence numbers to pending requests (see :func:`.normal.propose`)."""
        return normal.propose(self, me, state)

    def relay(self, me: AgentId, votes: list, view: int, seq: int) -> list[Effect]:
        """Linear communication: the primary's bundle of one phase's counted votes (:func:`.linear.relay`)."""
        return linear.relay(self, me, votes, view, seq)

    def bundled_vote_problem(self, me: AgentId, vote: Message) -> str | None:
        """Why a vote taken out of a :class:`.messages.VoteBundle` is refused: screened and verified as if
        delivered on its own (the relaying replica is trusted for nothing)."""
        problem = self.screen(me, vote)
        if problem is None and not self.auth.verify(vote):
            problem = "bad-signature"
        return problem

    def counted_vote(self, me: AgentId, state: ReplicaState, vote: Message) -> Step:
        """A bundled vote that passed :meth:`bundled_vote_problem`, handled as if its signer had sent it."""
        return self._dispatch(me, state, vote)

    # -------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        state = ReplicaState()
        effects = normal.timer_effects(self, agent, state)
        state, proposals = normal.propose(self, agent, state)
        return Step(state, tuple(e for e in effects if isinstance(e, SetTimer)) + tuple(proposals))

    def screen(self, agent: AgentId, message: Message) -> str | None:
        if type(message) not in _HANDLERS and isinstance(message, Request) \
                and message.sender in self.config.requesters:  # the handled types are not requests
            return None if message.session == self.session else "wrong-session"
        return super().screen(agent, message)

    def on_message(self, agent: AgentId, state: ReplicaState, message: Message) -> Step:
        if not self.auth.verify(message):
            return reject(state, "bad-signature", message)
        step = self._dispatch(agent, state, message)
        if state.last_executed and isinstance(message, (PrePrepare, Prepare, Commit, ViewChange)) \
                and not any(isinstance(e, Defer) for e in step.effects):
            answers = self.answers(agent, state, message)
            if answers:
                return Step(step.state, step.effects + answers)
        return step

    def _dispatch(self, agent: AgentId, state: ReplicaState, message: Message) -> Step:
        handler = _HANDLERS.get(type(message))  # one lookup for the exact wire types; subclasses below
        if handler is not None:
            return handler(self, agent, state, message)
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
        if isinstance(message, VoteBundle):
            return linear.on_votes(self, agent, state, message)
        if (message.sender, message.timestamp) in self._requests:  # type: ignore[attr-defined]
            return reject(state, "duplicate", message)  # every replica already holds configured requests
        return reject(state, "unconfigured-request", message)

    def on_timer(self, agent: AgentId, state: ReplicaState, timer: str) -> Step:
        if timer == BATCH_TIMER:  # a partial batch waited long enough: propose it
            state, proposals = normal.propose(self, agent, state, flush=True)
            return Step(state, tuple(proposals))
        if timer != normal.VIEW_CHANGE_TIMER:
            return Step(state)
        return viewchange.on_timeout(self, agent, state)

    # ------------------------------------------------------------ crash-recover
    def durable(self, agent: AgentId, state: ReplicaState) -> ReplicaState | None:
        """What the replica signed and must not forget (see :mod:`.recovery`)."""
        return recovery.durable_part(agent, state)

    def recover(self, agent: AgentId, durable: ReplicaState | None) -> Step:
        """Restart from stable storage (``None``: nothing was ever written, so start afresh)."""
        if durable is None:
            return self.start(agent)
        return recovery.recover(self, agent, durable)

    def largest_message_bytes(self, agents: Iterable[AgentId] | None = None) -> int:
        """A bound on PBFT's largest message, a NEW-VIEW: 2f+1 VIEW-CHANGEs, each with a prepared certificate
        per sequence number of the window (a pre-prepare carrying the largest request and the prepares
        that forward it) and a checkpoint proof, plus the re-proposals. Every replica may send one (a
        prepare forwards the request too), so the hosted agents do not matter."""
        return recovery.message_bound(self)

    def decision_of(self, state: Any) -> Any:
        return None if state is None else state.last_executed

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """None, for two reasons.

        The replicas that could be interchangeable are the backups of every checked view
        (the standard check's a1, a2, a3: the primary of view v is ``agents[v % n]``). But
        (1) which of them are Byzantine is the check's choice, which this object cannot
        see, and several mutants' checks make a backup Byzantine (a3 in executes-twice,
        accepts-earlier-view, duplicate-is-equivocation), where such a class would be
        refused; and (2) a replica's log keeps votes, checkpoints and certificates in
        tuples sorted by sender name (``state.add_vote``), inside node states and inside
        signed messages (a commit certificate, a VIEW-CHANGE's prepared certificates, a
        NEW-VIEW's proof): renaming two backups leaves those tuples out of order, so the
        renamed world is not the one the permuted run reaches.
        """
        return ()

    def rename_signature(self, original: Message, renamed: Message) -> Message:
        """A renamed message signed by its new sender (see :func:`mabeam.protocols.resigned`).

        No PBFT digest covers an agent name: request digests cover the client's request
        and checkpoint digests the executed values, so renaming leaves every digest valid.
        """
        return resigned(self.auth, original, renamed)

    # PBFT declares no silent state (``sends_no_more`` stays False): a replica that executed
    # everything still answers stale traffic with its commit certificates (catch-up), and a
    # replica with a pending request keeps its view-change timer.

    def describe_state(self, state: ReplicaState) -> str:
        return (f"view={state.view} {state.phase} executed={state.last_executed} "
                f"stable={state.stable_seq} slots={len(state.slots)}")
