"""Byzantine approximate agreement on numbers and vectors by trimmed midpoints (spec: ``spec/iterative.md``).

Agents refine a numeric proposal over R rounds until honest values lie within
epsilon of each other; ``values.py`` holds the exact-rational vector encoding.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry, SweepPoint
from . import config
from .adversary import IterativeAdversary
from .config import (
    CHECK_DOMAIN,
    CHECK_EPSILON,
    ONE_ROUND_EPSILON,
    quorum,
    resilient,
    round_count,
    spread_inputs,
)
from .machine import GRACE_TIMER, ApproximateAgreement
from .messages import MESSAGE_TYPES, RoundValue
from .mutants import MUTANTS
from .properties import PROPERTIES, agreement_bound, round_values, synchronous_rounds, validity
from .state import PHASES, NumericState, RoundRecord, convergence_history
from .values import Vector, WireVector, decode, encode, exact_vector, rounds_needed, spread


def build(agents: int, faulty: int = 0, cls: type[ApproximateAgreement] = ApproximateAgreement,
          **options: Any) -> ApproximateAgreement:
    """:func:`.config.build` with the honest machine as the default class."""
    return config.build(agents, faulty, cls, **options)


#: ``mabeam check iterative --sweep``: n = 3f+1 and 3f+2, odd and even n, f = 1 and 2
SWEEP = (
    SweepPoint("n=4 f=1: n=3f+1, even (the standard check)", 4, 1, max_seconds=300.0),
    SweepPoint("n=5 f=1: n=3f+2, odd", 5, 1),
    SweepPoint("n=6 f=1: even n", 6, 1),
    SweepPoint("n=7 f=2: f=2, n=3f+1", 7, 2),
    SweepPoint("n=8 f=2: f=2, n=3f+2", 8, 2),
)


ENTRY = ProtocolEntry(
    name="iterative",
    summary="Byzantine approximate agreement on numbers/vectors by trimmed midpoints (n > 3f)",
    fault_model="byzantine",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=4,
    default_faulty=1,
    check_defaults={"network": "duplicating", "intruder": True},
    sweep=SWEEP,
)

__all__ = [
    "CHECK_DOMAIN", "CHECK_EPSILON", "ENTRY", "GRACE_TIMER", "MESSAGE_TYPES", "MUTANTS", "ONE_ROUND_EPSILON",
    "PHASES", "PROPERTIES", "ApproximateAgreement", "IterativeAdversary", "NumericState", "RoundRecord",
    "RoundValue", "Vector", "WireVector", "agreement_bound", "build", "convergence_history", "decode", "encode",
    "exact_vector", "quorum", "resilient", "round_count", "round_values", "rounds_needed", "spread",
    "spread_inputs", "synchronous_rounds", "validity",
]
