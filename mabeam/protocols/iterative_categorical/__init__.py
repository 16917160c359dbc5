"""Iterative refinement of a categorical answer, crash-tolerant (spec: ``spec/iterative-categorical.md``).

Rounds of confidence-weighted plurality over ordered candidate answers until
the plurality is stable for ``stable_rounds`` rounds or ``max_rounds`` is reached.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry, SweepPoint
from . import config
from .adversary import CategoricalAdversary
from .config import CHECK_CANDIDATES, alternating_inputs, quorum, tolerates
from .machine import CategoricalRefinement
from .messages import MESSAGE_TYPES, Proposal
from .mutants import MUTANTS
from .properties import PROPERTIES
from .state import PHASES, CategoricalState, RoundSummary


def build(agents: int, faulty: int = 0, cls: type[CategoricalRefinement] = CategoricalRefinement,
          **options: Any) -> CategoricalRefinement:
    """:func:`.config.build` with the honest machine as the default class."""
    return config.build(agents, faulty, cls, **options)


#: ``mabeam check iterative-categorical --sweep``: odd and even n, f = 1 and 2 (quorum n - f)
SWEEP = (
    SweepPoint("n=3 f=1: odd n (the standard check)", 3, 1),
    SweepPoint("n=4 f=1: even n, n=3f+1", 4, 1),
    SweepPoint("n=5 f=1: odd n, n=3f+2", 5, 1),
    SweepPoint("n=5 f=2: f=2", 5, 2),
    SweepPoint("n=6 f=2: f=2, even n", 6, 2),
)


ENTRY = ProtocolEntry(
    name="iterative-categorical",
    summary="rounds of confidence-weighted plurality over candidate answers, crash-tolerant",
    fault_model="crash",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=3,
    default_faulty=1,
    check_defaults={"network": "duplicating", "intruder": True},
    sweep=SWEEP,
)

__all__ = [
    "CHECK_CANDIDATES", "ENTRY", "MESSAGE_TYPES", "MUTANTS", "PHASES", "PROPERTIES", "CategoricalAdversary",
    "CategoricalRefinement", "CategoricalState", "Proposal", "RoundSummary", "alternating_inputs", "build",
    "quorum", "tolerates",
]
