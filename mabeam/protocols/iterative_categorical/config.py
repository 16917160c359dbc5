"""Categorical refinement's configuration: round and quorum arithmetic, validation, builders.

``quorum`` and ``tolerates`` are plain functions of the sizes so the Z3 model
(``models/iterative_categorical.py``) and the machine share one definition.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ...core import AgentId, ConfigurationError, InsufficientReplicasError, Membership
from ...core.rationals import exact

if TYPE_CHECKING:
    from .machine import CategoricalRefinement


def quorum(n: int, f: int) -> int:
    """Round-r proposals an agent waits for, its own included: n - f (f members may have crashed)."""
    return n - f


def tolerates(n: int, f: int) -> bool:
    """Whether n members can wait out f crashes: f < n, so the quorum n - f is at least one."""
    return f < n


def validate_candidates(candidates: Sequence[str]) -> tuple[str, ...]:
    ordered = tuple(candidates)
    if not ordered or len(set(ordered)) != len(ordered) or not all(isinstance(c, str) for c in ordered):
        raise ConfigurationError("candidates must be a non-empty sequence of distinct strings")
    return ordered


def _at_least(name: str, value: object, least: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise ConfigurationError(f"{name} must be an integer >= {least}, got {value!r}")
    return value


def validate_sizes(n: int, faulty: object, stable_rounds: object, max_rounds: object) -> None:
    f = _at_least("faulty", faulty, 0)
    _at_least("stable_rounds", stable_rounds, 1)
    _at_least("max_rounds", max_rounds, 1)
    if not tolerates(n, f):
        raise InsufficientReplicasError(f"waiting for n - f proposals needs f < n; got n={n}, f={f}")


def validate_inputs(membership: Membership, inputs: Mapping[AgentId, tuple[str, object]],
                    candidates: tuple[str, ...]) -> dict[AgentId, tuple[str, Fraction]]:
    """Every member, and only members, proposes a candidate with a finite confidence >= 0."""
    missing = [a for a in membership.agents if a not in inputs]
    extra = [a for a in inputs if a not in membership]
    if missing or extra:
        raise ConfigurationError(f"inputs must name every member exactly: missing {missing}, "
                                 f"unknown {extra}")
    checked: dict[AgentId, tuple[str, Fraction]] = {}
    for agent in membership.agents:
        answer, confidence = inputs[agent]
        if answer not in candidates:
            raise ConfigurationError(f"{agent} proposes {answer!r}, not one of {candidates}")
        weight = exact(confidence, f"confidence of {agent}")
        if weight < 0:
            raise ConfigurationError(f"confidence of {agent} must be non-negative, got {confidence!r}")
        checked[agent] = (answer, weight)
    return checked


# ------------------------------------------------------------------ the checked configuration
CHECK_CANDIDATES = ("x", "y", "z")


def alternating_inputs(agents: int) -> dict[AgentId, tuple[str, int]]:
    """y/z/y/z... with z held more confidently; nobody proposes x."""
    return {f"a{i}": ("y", 1) if i % 2 == 0 else ("z", 2) for i in range(agents)}


def build(agents: int, faulty: int, cls: type[CategoricalRefinement],
          **options: Any) -> CategoricalRefinement:
    """Inputs y/z/y/z... with z held more confidently, candidates x, y, z (nobody proposes x).

    Pluralities can flip between rounds (so max_rounds binds) and ties occur (so the
    tie-break matters), which is what the mutants need to show their bugs.
    """
    options.setdefault("stable_rounds", 2)
    options.setdefault("max_rounds", 2)
    return cls(Membership.of_size(agents), alternating_inputs(agents), CHECK_CANDIDATES, faulty, **options)
