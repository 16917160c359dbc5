"""Iterative refinement: agents refine a proposal over rounds until they converge.

Two protocols share this package: ``iterative`` (Byzantine approximate
agreement on numbers and vectors, :mod:`.numeric`) and
``iterative-categorical`` (rounds of confidence-weighted plurality over
candidate answers, :mod:`.categorical`). The spec is ``spec/iterative.md``.
"""

from __future__ import annotations

from ...core.catalog import ProtocolEntry
from .numeric import ApproximateAgreement, NumericState, RoundValue, build, convergence_history
from .numeric_mutants import MUTANTS
from .numeric_properties import PROPERTIES

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

__all__ = ["ENTRY", "ApproximateAgreement", "NumericState", "RoundValue", "build", "convergence_history"]
