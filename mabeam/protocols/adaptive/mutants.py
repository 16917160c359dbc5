"""Deliberately broken adaptive-coordination variants; each must be caught by the checker."""

from __future__ import annotations

from typing import cast

import msgspec

from ...core import Step
from ...core.catalog import mutant
from .config import build, crash_bound_configuration, evidence_configuration, lock_order_configuration
from .machine import DEADLINE_TIMER, AdaptiveCoordination, lock_rank
from .messages import Lock
from .state import NO_DECISION, AdaptiveState, Outcome


class IgnoreLocks(AdaptiveCoordination):
    """Falls back without carrying locks: a value decided under Byzantine consensus can be overridden."""

    def carried_lock(self, state: AdaptiveState) -> Lock | None:
        return None


class SmallerSwitchQuorum(AdaptiveCoordination):
    """Leaves a stage on one SWITCH vote fewer than the switch quorum."""

    def switch_quorum(self, stage: int) -> int:
        return super().switch_quorum(stage) - 1


class FallbackDespiteEvidence(AdaptiveCoordination):
    """Falls back to crash-only majority although it holds equivocation evidence."""

    def admissible(self, state: AdaptiveState, target: int) -> str | None:
        return super().admissible(msgspec.structs.replace(state, evidence=frozenset()), target)


class NoDeadline(AdaptiveCoordination):
    """Never arms the final deadline: an undecided session waits forever."""

    def on_start(self, agent: str) -> Step:
        state, effects = super().on_start(agent)
        return Step(state, tuple(e for e in effects if getattr(e, "name", None) != DEADLINE_TIMER))


class ClaimFirstStage(AdaptiveCoordination):
    """Attributes every decision to the first (strongest) stage: a fallback decision claims
    Byzantine consensus produced it and keeps its guarantee."""

    def _decide(self, state: AdaptiveState, stage: int, value: str, proof: tuple) -> tuple:
        state, effects = super()._decide(state, stage, value, proof)
        first = self.stages[0]
        outcome = msgspec.structs.replace(cast(Outcome, state.outcome), protocol=first.kind,
                                          guarantee=first.guarantee)
        return msgspec.structs.replace(state, outcome=outcome), effects


class IgnoreCrashBound(AdaptiveCoordination):
    """Falls back to majority although the configured crash bound is not below n/2."""

    def admissible(self, state: AdaptiveState, target: int) -> str | None:
        reason = super().admissible(state, target)
        return None if reason is not None and reason.startswith("precondition") else reason


class DeadlineOverridesDecision(AdaptiveCoordination):
    """Leaves the deadline armed after deciding, and its handler forgets to check for a decision:
    a decided node is rewritten as a no-decision."""

    def _decide(self, state: AdaptiveState, stage: int, value: str, proof: tuple) -> tuple:
        state, effects = super()._decide(state, stage, value, proof)
        return state, tuple(e for e in effects if getattr(e, "name", None) != DEADLINE_TIMER)

    def _on_deadline(self, state: AdaptiveState) -> Step:
        if state.outcome is not None and state.outcome.kind == NO_DECISION:
            return Step(state)
        outcome = Outcome(NO_DECISION, state.stage, reason="deadline reached")
        return Step(msgspec.structs.replace(state, outcome=outcome))


class CarriesLowestLock(AdaptiveCoordination):
    """Carries the lowest-stage lock out of a stage instead of the highest: with two locks on two values,
    the older one may belong to a stage that never decided, while the newer one's stage did."""

    def carried_lock(self, state: AdaptiveState) -> Lock | None:
        return min(self.held_locks(state), key=lock_rank, default=None)


def _on(kinds: str) -> dict[str, str]:
    """Build options for a mutant checked on the chain ``kinds`` under the override attack."""
    return {"kinds": kinds, "adversary": "override"}


#: each mutant is checked at the smallest (agents, faulty) where its bug shows, so the whole state space
#: is explored in seconds
MUTANTS = (
    mutant(IgnoreLocks, "fallback-after-byzantine-decision",
           "falls back without carrying the lock, so a fallback can override a Byzantine decision",
           ("ADAPT-S2",), build=build, size=(3, 0), options=_on("bw")),
    mutant(SmallerSwitchQuorum, "smaller-switch-quorum",
           "leaves a stage on one SWITCH vote fewer than the switch quorum", ("ADAPT-S5", "ADAPT-S2"),
           build=build, size=(3, 0), options=_on("bw")),
    mutant(FallbackDespiteEvidence, "majority-despite-evidence",
           "falls back to crash-only majority while holding equivocation evidence", ("ADAPT-S3",),
           build=lambda agents, faulty, cls: evidence_configuration(cls), size=(3, 1)),
    mutant(IgnoreCrashBound, "majority-despite-crash-bound",
           "falls back to majority although the declared crash bound is not below n/2", ("ADAPT-S3",),
           build=lambda agents, faulty, cls: crash_bound_configuration(cls), size=(2, 0)),
    mutant(NoDeadline, "no-deadline",
           "never arms the final deadline, so an undecided session hangs", ("ADAPT-L1",),
           build=build, size=(2, 0), options=_on("bm")),
    mutant(ClaimFirstStage, "decision-without-provenance",
           "attributes a fallback decision to the Byzantine stage and its guarantee", ("ADAPT-S4",),
           build=build, size=(2, 0), options=_on("bw")),
    mutant(DeadlineOverridesDecision, "deadline-overrides-decision",
           "the deadline rewrites an existing decision as a no-decision", ("ADAPT-S1",),
           build=build, size=(2, 0), options=_on("bw")),
)

#: mutants the exhaustive search catches only after a minute and gigabytes, so they stay out of :data:`MUTANTS`
#: (which every-mutant runs such as ``mabeam validate`` check); one slow test each checks them
#: (tests/test_mutants_blind_spots.py). Lock ordering needs three stages and a Byzantine member that assembles
#: a lock from honest votes (the Dolev-Yao adversary): without one, an honest member votes its input unless a
#: lock forces it, and the chain never reaches its third stage holding locks on two values.
DEEP_MUTANTS = (
    mutant(CarriesLowestLock, "carries-lowest-lock",
           "carries the lowest-stage lock out of a stage instead of the highest", ("ADAPT-S2",),
           build=lambda agents, faulty, cls: lock_order_configuration(cls), size=(3, 1), adversary="dolev-yao",
           stop_on_violation=True),
)
