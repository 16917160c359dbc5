"""Deliberately broken replicas: each must be caught by the checker with a counterexample."""

from __future__ import annotations

from typing import Any

from ...core import AgentId, Message, Step
from ...core.catalog import Mutant
from .auth import equivocation
from .build import build
from .common import reject
from .messages import NewView, PrePrepare, Request
from .replica import PBFTReplica
from .state import ReplicaState, Slot


class QuorumOf2f(PBFTReplica):
    """Every quorum is 2f instead of 2f+1: two quorums may share only a Byzantine replica."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepare_quorum = 2 * self.f - 1
        self.commit_quorum = self.checkpoint_quorum = self.new_view_quorum = 2 * self.f


class NewViewWithoutProof(PBFTReplica):
    """Installs any NEW-VIEW signed by the new primary without checking its VIEW-CHANGEs or re-proposals."""

    def new_view_problem(self, m: NewView) -> str | None:
        return None


class NoEquivocationEvidence(PBFTReplica):
    """Silently ignores a second, conflicting message instead of reporting evidence."""

    def second_vote(self, state: ReplicaState, counted: Message, incoming: Message) -> Step:
        return reject(state, "duplicate", incoming)

    def second_pre_prepare(self, state: ReplicaState, slot: Slot, incoming: PrePrepare) -> Step | None:
        return reject(state, "duplicate", incoming)


class CommitWithoutPrepared(PBFTReplica):
    """Treats a pre-prepared slot as prepared: commits without waiting for 2f prepares."""

    def is_prepared(self, slot: Slot) -> bool:
        return slot.pre_prepare is not None


class LowersView(PBFTReplica):
    """Accepts a NEW-VIEW for an older view and goes back to it."""

    def stale_new_view(self, state: ReplicaState, m: NewView) -> bool:
        return m.view == state.view and state.phase == "normal"


class AcceptsOldViewMessages(PBFTReplica):
    """Skips the view check on normal-case messages: a replayed vote from an earlier view counts now."""

    def view_mismatch(self, state: ReplicaState, view: int) -> str | None:
        return super().view_mismatch(state, max(view, state.view))


class StableOnFPlus1(PBFTReplica):
    """Makes a checkpoint stable (and collects garbage) on f+1 matching checkpoints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checkpoint_quorum = self.f + 1


class UncheckedRequests(PBFTReplica):
    """Accepts a pre-prepared request without checking it was signed by a configured requester."""

    def valid_request(self, request: Request) -> bool:
        return True


class ExecutesTwice(PBFTReplica):
    """Executes a request again when a later sequence number carries it."""

    def already_executed(self, state: ReplicaState, request: Request) -> bool:
        return False


class StickyPrimary(PBFTReplica):
    """Rotates the primary only every second view, so a faulty primary gets two views in a row."""

    def primary(self, view: int) -> AgentId:
        return self.config.primary(view // 2)


class JoinsOnOneViewChange(PBFTReplica):
    """Follows a single VIEW-CHANGE to a higher view instead of waiting for f+1."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.join_threshold = 1


class NeverSuspects(PBFTReplica):
    """Never arms the view-change timer, so a silent primary blocks the group forever."""

    def on_timer(self, agent: AgentId, state: Any, timer: str) -> Step:
        return Step(state)


class DuplicateIsEquivocation(PBFTReplica):
    """Reports a redelivered identical message as equivocation, framing an honest sender."""

    def second_vote(self, state: ReplicaState, counted: Message, incoming: Message) -> Step:
        if counted == incoming:
            return Step(state, (equivocation(counted, incoming.replace(signature=b"")),))
        return super().second_vote(state, counted, incoming)


def _mutant(name: str, cls: type[PBFTReplica], description: str, breaks: tuple[str, ...],
            byzantine: str | None = None, bounds: dict[str, Any] | None = None, **overrides: Any) -> Mutant:
    if byzantine is not None:
        overrides["byzantine"] = frozenset({byzantine})
    extra = dict(bounds or {})
    return Mutant("pbft", name, description, breaks,
                  lambda agents, faulty: build(agents, faulty, cls, **extra), overrides)


MUTANTS = (
    _mutant("quorum-2f", QuorumOf2f, "quorums of 2f instead of 2f+1", ("PBFT-S1", "PBFT-S2", "PBFT-S3")),
    _mutant("new-view-without-proof", NewViewWithoutProof,
            "a NEW-VIEW is installed without checking its VIEW-CHANGEs and re-proposals",
            ("PBFT-S1", "PBFT-S4", "PBFT-L3"), byzantine="a1"),
    _mutant("no-equivocation-evidence", NoEquivocationEvidence,
            "conflicting signed messages are ignored, not reported", ("PBFT-R3",)),
    _mutant("commit-without-prepared", CommitWithoutPrepared,
            "commits as soon as a pre-prepare arrives", ("PBFT-S2", "PBFT-S3")),
    _mutant("lowers-view", LowersView, "accepts a NEW-VIEW for an older view", ("PBFT-S8",)),
    _mutant("replay-earlier-view", AcceptsOldViewMessages,
            "counts normal-case messages from earlier views", ("PBFT-S2", "PBFT-S4", "PBFT-S1", "PBFT-A1")),
    _mutant("checkpoint-f-plus-1", StableOnFPlus1, "a checkpoint is stable on f+1 matching digests",
            ("PBFT-S7",)),
    _mutant("unchecked-request", UncheckedRequests, "pre-prepared requests are not authenticated",
            ("PBFT-S5",)),
    _mutant("executes-twice", ExecutesTwice, "a request is executed again at a later sequence number",
            ("PBFT-S6",), bounds={"max_seq": 2, "max_view": 0}),
    _mutant("sticky-primary", StickyPrimary, "the primary rotates every second view", ("PBFT-L2",)),
    _mutant("joins-on-one-view-change", JoinsOnOneViewChange,
            "one VIEW-CHANGE pulls a replica to a higher view", ("PBFT-L3",)),
    _mutant("never-suspects", NeverSuspects, "no view change ever starts", ("PBFT-L1",),
            bounds={"max_view": 1}),
    _mutant("duplicate-is-equivocation", DuplicateIsEquivocation,
            "an identical redelivered message is reported as equivocation", ("PBFT-A1",)),
)
