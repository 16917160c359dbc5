"""Deliberately broken variants of approximate agreement; each must be caught with a trace."""

from __future__ import annotations

from typing import Any

from ...core import AgentId
from ...core.catalog import mutant
from .config import ONE_ROUND_EPSILON, build
from .machine import ApproximateAgreement
from .state import NumericState
from .values import Vector


class NoTrimming(ApproximateAgreement):
    """Moves to the mean of every value received: one Byzantine extreme drags it out of range."""

    def refine(self, agent: AgentId, state: NumericState, values: list[Vector]) -> Vector:
        return tuple(sum(column) / len(column) for column in zip(*values))


class TrimOneTooFew(ApproximateAgreement):
    """Trims f-1 values from each end, so one Byzantine value can survive the trim."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trim = self.f - 1


class KeepOwnValue(ApproximateAgreement):
    """Takes the trimmed range's point nearest its own value: valid, but honest values never meet."""

    def refine(self, agent: AgentId, state: NumericState, values: list[Vector]) -> Vector:
        out = []
        for column, own in zip(zip(*values), state.value):
            kept = sorted(column)[self.trim:len(column) - self.trim]
            out.append(min(max(own, kept[0]), kept[-1]))
        return tuple(out)


class StopOneRoundEarly(ApproximateAgreement):
    """Decides after R-1 rounds (at R = 1: its input), before the honest range has shrunk to epsilon."""

    def _last_round(self) -> int:
        return self.rounds - 1


class CountEquivocation(ApproximateAgreement):
    """Keeps every value a sender sends for a round, so an equivocator is counted twice."""

    def _value_from(self, state: NumericState, round_: int, sender: AgentId) -> Vector | None:
        return None


class ImpossibleQuorum(ApproximateAgreement):
    """Waits for n+1 values per round, one more than there are members: nobody ever finishes."""

    def _ready(self, state: NumericState, view: frozenset) -> bool:
        return len(view) > self.n


#: mutants run on the one-round instance (epsilon 2): ~2k states each
ONE_ROUND = {"epsilon": ONE_ROUND_EPSILON}

MUTANTS = (
    mutant(NoTrimming, "no-trimming", "moves to the mean of all received values, untrimmed", ("IR-S1",),
           build=build, options=ONE_ROUND),
    mutant(TrimOneTooFew, "trim-f-minus-1", "trims f-1 values from each end instead of f", ("IR-S1",),
           build=build, options=ONE_ROUND),
    mutant(KeepOwnValue, "keep-own-value",
           "clamps its own value into the trimmed range instead of taking the midpoint", ("IR-S2",),
           build=build, options=ONE_ROUND),
    mutant(StopOneRoundEarly, "stop-one-round-early", "decides after R-1 rounds", ("IR-S3",),
           build=build, options=ONE_ROUND),
    mutant(CountEquivocation, "count-equivocation", "counts both values of a sender that equivocates to it",
           ("IR-S4",), build=build, options={**ONE_ROUND, "equivocate_to_one": True}),
    mutant(ImpossibleQuorum, "impossible-quorum", "waits for n+1 values per round", ("IR-L1", "IR-R1", "IR-R2"),
           build=build, options=ONE_ROUND),
)
