"""The replica as its handlers, adversary and properties see it: a structural interface.

The handler modules (:mod:`.normal`, :mod:`.viewchange`, :mod:`.catchup`,
:mod:`.checkpoint`) are functions of a :class:`Replica` and a state; they call
back into it for the thresholds and the rules a mutant may get wrong, so a
mutant overriding a method of :class:`~.machine.PBFTReplica` changes what the
handlers do. Depending on this interface instead of the machine class keeps
the package's imports one-way: the machine imports the handlers, never the
reverse.
"""

from __future__ import annotations

from typing import Protocol

from ...core import AgentId, Effect, Membership, Message, Step
from ...core.auth import Authenticator, Signer
from .config import PBFTConfig
from .messages import Commit, CommitCertificate, Decided, NewView, PrePrepare, Request
from .state import ReplicaState, Slot


class Replica(Protocol):
    """What :class:`~.machine.PBFTReplica` provides to the code below it."""

    config: PBFTConfig
    auth: Authenticator
    f: int
    session: str
    membership: Membership
    prepare_quorum: int  # prepares from distinct backups, besides the pre-prepare
    commit_quorum: int
    checkpoint_quorum: int
    new_view_quorum: int
    certificate_quorum: int  # signed commits a catch-up certificate must carry
    join_threshold: int

    @property
    def agents(self) -> tuple[AgentId, ...]: ...

    # ------------------------------------------------------------- helpers
    def signer(self, agent: AgentId) -> Signer: ...

    def primary(self, view: int) -> AgentId: ...

    def in_window(self, state: ReplicaState, seq: int) -> bool: ...

    def valid_request(self, request: Request) -> bool: ...

    def already_executed(self, state: ReplicaState, request: Request) -> bool: ...

    # ------------------------------------------------- rules mutants change
    def view_mismatch(self, state: ReplicaState, view: int) -> str | None: ...

    def is_prepared(self, slot: Slot) -> bool: ...

    def ready_for_commits(self, slot: Slot) -> bool: ...

    def is_committed(self, slot: Slot) -> bool: ...

    def second_vote(self, state: ReplicaState, counted: Message, incoming: Message) -> Step: ...

    def second_pre_prepare(self, me: AgentId, state: ReplicaState, slot: Slot,
                           incoming: PrePrepare) -> Step | None: ...

    def kept_on_entering(self, slot: Slot, view: int) -> bool: ...

    def reproposed(self, candidates: list[PrePrepare]) -> PrePrepare: ...

    def stale_new_view(self, state: ReplicaState, m: NewView) -> bool: ...

    def new_view_problem(self, m: NewView) -> str | None: ...

    def certificate_problem(self, cert: CommitCertificate) -> str | None: ...

    def commit_signature_ok(self, commit: Commit) -> bool: ...

    def decided_again(self, me: AgentId, state: ReplicaState, m: Decided) -> Step: ...

    def primary_equivocation(self, own: PrePrepare, shown: PrePrepare) -> tuple[Effect, ...]: ...

    # ------------------------------------------------ across handler modules
    def propose(self, me: AgentId, state: ReplicaState) -> tuple[ReplicaState, list[Effect]]:
        """The primary assigns sequence numbers (:func:`.normal.propose`); the checkpoint handler,
        which sits below the normal case, calls it when the watermark window moves."""
        ...

    def relay(self, me: AgentId, votes: list, view: int, seq: int) -> list[Effect]: ...

    def bundled_vote_problem(self, me: AgentId, vote: Message) -> str | None: ...

    def counted_vote(self, me: AgentId, state: ReplicaState, vote: Message) -> Step: ...
