"""Deliberately broken categorical refiners; the checker must catch each with a counterexample."""

from __future__ import annotations

from typing import Any

from ...core.catalog import mutant
from .config import build
from .machine import CategoricalRefinement


class InventOnTie(CategoricalRefinement):
    """Breaks a tie by the first candidate overall, even one nobody proposed."""

    def plurality(self, view: Any) -> str:
        support = self._support(view)
        best = max(support.values())
        leaders = [c for c in self.candidates if support.get(c) == best]
        return leaders[0] if len(leaders) == 1 else self.candidates[0]


class IgnoreMaxRounds(CategoricalRefinement):
    """Refines one round past max_rounds when the plurality is not yet stable."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.round_limit = self.max_rounds + 1


class ImpossibleQuorum(CategoricalRefinement):
    """Waits for n+1 proposals per round: nobody ever finishes."""

    def _ready(self, view: Any) -> bool:
        return len(view) > self.n


MUTANTS = (
    mutant(InventOnTie, "invent-answer", "breaks ties with the first candidate, proposed or not", ("IR-C1",),
           build=build),
    mutant(IgnoreMaxRounds, "ignore-max-rounds", "keeps refining one round past max_rounds", ("IR-C2",),
           build=build),
    mutant(ImpossibleQuorum, "impossible-quorum", "waits for n+1 proposals per round", ("IR-CL1", "IR-CR1"),
           build=build),
)
