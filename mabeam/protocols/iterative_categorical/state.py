"""A categorical refiner's node state, its phase graph and per-round summaries."""

from __future__ import annotations

from fractions import Fraction

import msgspec

from ...core import AgentId, PhaseGraph, PhaseTransition

PHASES = PhaseGraph(
    "iterative-categorical", ["refining", "done"], "refining",
    [
        PhaseTransition("next-round", "refining", "refining", ">= n-f round-r proposals, not yet stable"),
        PhaseTransition("stable", "refining", "done", "plurality unchanged for k rounds"),
        PhaseTransition("out-of-rounds", "refining", "done", "round = max_rounds"),
    ],
)


class RoundSummary(msgspec.Struct, frozen=True):
    """Convergence statistics of one round as this agent saw it."""

    round: int
    plurality: str
    support: Fraction  # the plurality's share of the received confidence (1 if all confidences are 0)
    agreeing: int  # received proposals already naming the plurality
    received: int


class CategoricalState(msgspec.Struct, frozen=True, cache_hash=True):
    phase: str
    round: int
    answer: str
    #: proposals for the current and later rounds: (round, sender, answer, confidence)
    inbox: frozenset[tuple[int, AgentId, str, Fraction]]
    #: stopped senders: (first round it stands for, sender, answer, confidence)
    finals: frozenset[tuple[int, AgentId, str, Fraction]] = frozenset()
    streak: int = 0
    history: tuple[RoundSummary, ...] = ()
    decided: tuple[str, int] | None = None
