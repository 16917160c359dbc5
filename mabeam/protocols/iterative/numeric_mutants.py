"""Deliberately broken variants of approximate agreement; each must be caught with a trace."""

from __future__ import annotations

from typing import Any

from ...core import AgentId
from ...core.catalog import Mutant
from .numeric import ONE_ROUND_EPSILON, ApproximateAgreement, NumericState, build
from .values import Vector


class _NoTrimming(ApproximateAgreement):
    """Moves to the mean of every value received: one Byzantine extreme drags it out of range."""

    def refine(self, agent: AgentId, state: NumericState, values: list[Vector]) -> Vector:
        return tuple(sum(column) / len(column) for column in zip(*values))


class _TrimOneTooFew(ApproximateAgreement):
    """Trims f-1 values from each end, so one Byzantine value can survive the trim."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trim = self.f - 1


class _KeepOwnValue(ApproximateAgreement):
    """Takes the trimmed range's point nearest its own value: valid, but honest values never meet."""

    def refine(self, agent: AgentId, state: NumericState, values: list[Vector]) -> Vector:
        out = []
        for column, own in zip(zip(*values), state.value):
            kept = sorted(column)[self.trim:len(column) - self.trim]
            out.append(min(max(own, kept[0]), kept[-1]))
        return tuple(out)


class _StopOneRoundEarly(ApproximateAgreement):
    """Decides after R-1 rounds (at R = 1: its input), before the honest range has shrunk to epsilon."""

    def _last_round(self) -> int:
        return self.rounds - 1


class _CountEquivocation(ApproximateAgreement):
    """Keeps every value a sender sends for a round, so an equivocator is counted twice."""

    def _value_from(self, state: NumericState, round_: int, sender: AgentId) -> Vector | None:
        return None


class _ImpossibleQuorum(ApproximateAgreement):
    """Waits for n+1 values per round, one more than there are members: nobody ever finishes."""

    def _ready(self, state: NumericState, view: frozenset) -> bool:
        return len(view) > self.n


def _mutant(name: str, cls: type[ApproximateAgreement], description: str, breaks: tuple[str, ...],
            **options: Any) -> Mutant:
    """Mutants run on the one-round instance (epsilon 2) unless told otherwise: ~2k states each."""
    options.setdefault("epsilon", ONE_ROUND_EPSILON)
    return Mutant("iterative", name, description, breaks,
                  lambda agents, faulty: build(agents, faulty, cls, **options))


MUTANTS = (
    _mutant("no-trimming", _NoTrimming, "moves to the mean of all received values, untrimmed",
            ("IR-S1",)),
    _mutant("trim-f-minus-1", _TrimOneTooFew, "trims f-1 values from each end instead of f",
            ("IR-S1",)),
    _mutant("keep-own-value", _KeepOwnValue,
            "clamps its own value into the trimmed range instead of taking the midpoint", ("IR-S2",)),
    _mutant("stop-one-round-early", _StopOneRoundEarly, "decides after R-1 rounds", ("IR-S3",)),
    _mutant("count-equivocation", _CountEquivocation,
            "counts both values of a sender that equivocates to it", ("IR-S4",),
            equivocate_to_one=True),
    _mutant("impossible-quorum", _ImpossibleQuorum, "waits for n+1 values per round",
            ("IR-L1", "IR-R1", "IR-R2")),
)
