"""Validation of a weighted vote's authenticated configuration.

Weights, the decision threshold and the declared Byzantine weight bound are all
turned into exact :class:`~fractions.Fraction` values here, once, so every
later comparison (``support > threshold * total``) is exact: no float can put a
value that sits exactly on the threshold on the wrong side of it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from ...core import (
    AgentId, ConfigurationError, InsufficientReplicasError, InvalidWeightError, Membership,
    UnknownAgentError,
)

Mode = Literal["byzantine", "crash"]
MODES: tuple[Mode, ...] = ("byzantine", "crash")

#: Byzantine mode decides only with strictly more than this share of the total weight
BYZANTINE_THRESHOLD = Fraction(2, 3)
#: crash mode decides with strictly more than this share (a weighted majority)
CRASH_THRESHOLD = Fraction(1, 2)
#: Byzantine mode is safe only while the faulty weight stays strictly below this share
BYZANTINE_FAULT_LIMIT = Fraction(1, 3)


def exact(value: object, what: str, error: type[ConfigurationError] = ConfigurationError) -> Fraction:
    """``value`` as an exact Fraction; bools, non-numbers, NaN and infinities raise ``error``."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        raise error(f"{what} must be a real number, got {type(value).__name__} {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise error(f"{what} must be finite, got {value!r}")
    try:
        return Fraction(value)  # type: ignore[arg-type]
    except (ValueError, OverflowError, TypeError):  # e.g. Decimal('NaN'), Decimal('Infinity')
        raise error(f"{what} must be a finite number, got {value!r}") from None


def validate_mode(mode: object) -> Mode:
    if mode not in MODES:
        raise ConfigurationError(f"mode must be one of {MODES}, got {mode!r}")
    return mode  # type: ignore[return-value]


def validate_inputs(membership: Membership, inputs: Mapping[AgentId, str]) -> dict[AgentId, str]:
    """Every member has exactly one input value, a non-empty string."""
    if not isinstance(inputs, Mapping):
        raise ConfigurationError(f"inputs must be a mapping agent -> value, got {type(inputs).__name__}")
    unknown = sorted(str(a) for a in inputs if a not in membership)
    if unknown:
        raise UnknownAgentError(f"inputs name agents that are not members: {unknown}")
    missing = [a for a in membership if a not in inputs]
    if missing:
        raise ConfigurationError(f"inputs must give every member a value; missing {missing}")
    for agent, value in inputs.items():
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"input of {agent} must be a non-empty string, got {value!r}")
    return {a: inputs[a] for a in membership}


def validate_weights(membership: Membership, weights: Mapping[AgentId, object]) -> dict[AgentId, Fraction]:
    """Every member has a finite, non-negative weight and the total is positive."""
    if not isinstance(weights, Mapping):
        raise InvalidWeightError(f"weights must be a mapping agent -> weight, got {type(weights).__name__}")
    unknown = sorted(str(a) for a in weights if a not in membership)
    if unknown:
        raise UnknownAgentError(f"weights name agents that are not members: {unknown}")
    missing = [a for a in membership if a not in weights]
    if missing:
        raise InvalidWeightError(f"every member needs a weight; missing {missing}")
    exact_weights = {a: exact(weights[a], f"weight of {a}", InvalidWeightError) for a in membership}
    negative = [a for a, w in exact_weights.items() if w < 0]
    if negative:
        raise InvalidWeightError(f"weights must be non-negative; negative for {negative}")
    if sum(exact_weights.values()) <= 0:
        raise InvalidWeightError("the total weight must be positive (all weights are zero)")
    return exact_weights


def validate_threshold(mode: Mode, threshold: object | None) -> Fraction:
    """The share of total weight a value must strictly exceed.

    Crash mode needs ``threshold >= 1/2``: two sets each holding more than half the
    weight share a member, and a correct member votes once. Byzantine mode needs
    ``threshold >= 2/3``: two such sets share more than 1/3 of the weight, more
    than the faulty agents hold. ``threshold < 1``, or nothing could ever decide.
    """
    floor = BYZANTINE_THRESHOLD if mode == "byzantine" else CRASH_THRESHOLD
    value = floor if threshold is None else exact(threshold, "threshold")
    if not floor <= value < 1:
        raise ConfigurationError(
            f"{mode} mode decides on strictly more than threshold x total weight; the threshold "
            f"must lie in [{floor}, 1), got {value}")
    return value


def validate_faulty_weight(mode: Mode, bound: object, total: Fraction) -> Fraction:
    """The declared bound on the weight Byzantine agents may hold (same unit as the weights)."""
    value = exact(bound, "max_faulty_weight")
    if value < 0:
        raise ConfigurationError(f"max_faulty_weight must be non-negative, got {value}")
    if mode == "crash" and value != 0:
        raise ConfigurationError("crash mode assumes no Byzantine agent: max_faulty_weight must be 0; "
                                 "use mode='byzantine'")
    if value >= BYZANTINE_FAULT_LIMIT * total:
        raise InsufficientReplicasError(
            f"Byzantine weight {value} is not below 1/3 of the total weight {total}: two deciding "
            f"sets might then overlap only in faulty weight")
    return value
