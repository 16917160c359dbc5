"""Byzantine approximate agreement on numbers and vectors by trimmed midpoints (spec: ``spec/iterative.md``).

Agents refine a numeric proposal over R rounds until honest values lie within
epsilon of each other; ``values.py`` holds the exact-rational vector encoding.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry
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
)

__all__ = [
    "CHECK_DOMAIN", "CHECK_EPSILON", "ENTRY", "GRACE_TIMER", "MESSAGE_TYPES", "MUTANTS", "ONE_ROUND_EPSILON",
    "PHASES", "PROPERTIES", "ApproximateAgreement", "IterativeAdversary", "NumericState", "RoundRecord",
    "RoundValue", "Vector", "WireVector", "agreement_bound", "build", "convergence_history", "decode", "encode",
    "exact_vector", "quorum", "resilient", "round_count", "round_values", "rounds_needed", "spread",
    "spread_inputs", "synchronous_rounds", "validity",
]
