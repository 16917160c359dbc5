"""Deliberately broken adaptive-coordination variants; each must be caught by the checker."""

from __future__ import annotations

import msgspec

from ...core import Step
from .machine import DEADLINE_TIMER, AdaptiveCoordination
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
        outcome = msgspec.structs.replace(state.outcome, protocol=first.kind, guarantee=first.guarantee)
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
