"""Node state of adaptive coordination: immutable values the checker fingerprints."""

from __future__ import annotations

import msgspec

from ...core import AgentId
from .messages import Commit, Lock, Switch, Vote

DECIDED, NO_DECISION = "decided", "no-decision"


class SwitchRecord(msgspec.Struct, frozen=True):
    """One fallback: which stage was left for which, why, and on whose SWITCH votes."""

    source: int
    target: int
    #: the trigger that made this node vote SWITCH, or ``peer-certificate`` if it had not voted
    cause: str
    certificate: tuple[AgentId, ...]  # senders of the SWITCH votes counted, sorted
    forced: str | None  # the locked value the next stage's vote was forced to, if any
    evidence: int  # members this node held equivocation evidence against when it switched


class Refusal(msgspec.Struct, frozen=True):
    """A fallback this node refused because its precondition did not hold."""

    source: int
    target: int
    reason: str


class Outcome(msgspec.Struct, frozen=True):
    """How the session ended at this node: a decision with its provenance, or an explicit no-decision."""

    kind: str  # DECIDED | NO_DECISION
    stage: int
    value: str | None = None
    protocol: str | None = None  # the kind of the stage whose commit quorum produced the value
    guarantee: str | None = None  # the weakest guarantee among the stages used up to that one
    proof: tuple[Commit | Vote, ...] = ()  # the signed commits (last stage: votes) backing the decision
    reason: str = ""


class AdaptiveState(msgspec.Struct, frozen=True):
    """One node's view. Per-stage fields (``votes`` .. ``refused``) are reset on entering a stage."""

    stage: int
    input: str  # what this node votes in the current stage
    votes: frozenset[Vote] = frozenset()  # first vote of each member in this stage
    commits: frozenset[Commit] = frozenset()  # first commit of each member in this stage
    switches: frozenset[Switch] = frozenset()  # SWITCH votes for this stage
    committed: bool = False
    switched: str = ""  # the cause, once this node voted SWITCH in this stage
    refused: bool = False  # this node refused to leave this stage
    lock: Lock | None = None  # the highest lock held (carried across stages)
    evidence: frozenset[AgentId] = frozenset()  # members proven to have equivocated
    outcome: Outcome | None = None
    log: tuple[SwitchRecord, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def decided(self) -> str | None:
        """The decided value (``None`` if undecided or concluded without a decision)."""
        return self.outcome.value if self.outcome is not None and self.outcome.kind == DECIDED else None
