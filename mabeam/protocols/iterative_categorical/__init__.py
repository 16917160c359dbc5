"""Iterative refinement of a categorical answer, crash-tolerant (spec: ``spec/iterative-categorical.md``).

Rounds of confidence-weighted plurality over ordered candidate answers until
the plurality is stable for ``stable_rounds`` rounds or ``max_rounds`` is reached.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry
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
)

__all__ = [
    "CHECK_CANDIDATES", "ENTRY", "MESSAGE_TYPES", "MUTANTS", "PHASES", "PROPERTIES", "CategoricalAdversary",
    "CategoricalRefinement", "CategoricalState", "Proposal", "RoundSummary", "alternating_inputs", "build",
    "quorum", "tolerates",
]
