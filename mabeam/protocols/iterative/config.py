"""Approximate agreement's configuration: resilience and round arithmetic, validation, builders.

``resilient``, ``quorum`` and ``round_count`` are plain functions of the sizes
so the Z3 model (``models/iterative.py``) and the machine share one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ...core import AgentId, ConfigurationError, InsufficientReplicasError, Membership
from ...core.rationals import exact
from .values import Vector, exact_vector, rounds_needed

if TYPE_CHECKING:
    from .machine import ApproximateAgreement


def resilient(n: int, f: int) -> bool:
    """Whether n members tolerate f Byzantine ones: n > 3f, so an honest value survives each side of the trim."""
    return n > 3 * f


def quorum(n: int, f: int) -> int:
    """Round-r values an agent waits for before arming its grace timer: n - f."""
    return n - f


def round_count(width: Fraction, epsilon: Fraction, max_rounds: int) -> int:
    """R = min(ceil(log2(width / epsilon)), max_rounds)."""
    return min(rounds_needed(width, epsilon), max_rounds)


def validate_sizes(n: int, faulty: object, max_rounds: object) -> None:
    if not isinstance(faulty, int) or isinstance(faulty, bool) or faulty < 0:
        raise ConfigurationError(f"faulty must be a non-negative integer, got {faulty!r}")
    if not resilient(n, faulty):
        raise InsufficientReplicasError(f"approximate agreement needs n > 3f; got n={n}, f={faulty}")
    if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or max_rounds < 1:
        raise ConfigurationError(f"max_rounds must be a positive integer, got {max_rounds!r}")


def validate_domain(domain: tuple[object, object]) -> tuple[Fraction, Fraction]:
    low, high = exact(domain[0], "domain low"), exact(domain[1], "domain high")
    if low > high:
        raise ConfigurationError(f"domain low {low} exceeds domain high {high}")
    return low, high


def validate_epsilon(epsilon: object) -> Fraction:
    value = exact(epsilon, "epsilon")
    if value <= 0:
        raise ConfigurationError(f"epsilon must be positive, got {epsilon!r}")
    return value


def validate_inputs(membership: Membership, inputs: Mapping[AgentId, object],
                    domain: tuple[Fraction, Fraction]) -> dict[AgentId, Vector]:
    """Every member, and only members, has an input vector; all share one dimension and lie in the domain."""
    missing = [a for a in membership.agents if a not in inputs]
    extra = [a for a in inputs if a not in membership]
    if missing or extra:
        raise ConfigurationError(f"inputs must name every member exactly: missing {missing}, "
                                 f"unknown {extra}")
    vectors = {a: exact_vector(inputs[a], f"input of {a}") for a in membership.agents}
    dimensions = {len(v) for v in vectors.values()}
    if len(dimensions) != 1:
        raise ConfigurationError(f"every input must have the same dimension, got {sorted(dimensions)}")
    low, high = domain
    for agent, vector in vectors.items():
        if any(not low <= x <= high for x in vector):
            raise ConfigurationError(f"input of {agent} lies outside the domain [{low}, {high}]")
    return vectors


def validate_grace(grace: object) -> float:
    if not isinstance(grace, (int, float)) or isinstance(grace, bool) or not grace > 0 \
            or grace == float("inf"):
        raise ConfigurationError(f"grace must be a positive finite delay, got {grace!r}")
    return float(grace)


# ------------------------------------------------------------------ the checked configuration
CHECK_DOMAIN = (Fraction(0), Fraction(4))
CHECK_EPSILON = Fraction(1)  # R = 2 rounds: the standard check
ONE_ROUND_EPSILON = Fraction(2)  # R = 1 round: where the mutants are checked


def spread_inputs(agents: int, faulty: int) -> dict[AgentId, Fraction]:
    """Honest inputs spread evenly over the whole domain [0, 4], so trimming and every round matter."""
    honest = max(1, agents - faulty - 1)
    low, high = CHECK_DOMAIN
    return {f"a{i}": min(high, low + (high - low) * Fraction(i, honest)) for i in range(agents)}


def build(agents: int, faulty: int, cls: type[ApproximateAgreement],
          **options: Any) -> ApproximateAgreement:
    """The checked instance: domain [0, 4], epsilon 1, so R = 2 rounds (``epsilon``/``max_rounds`` vary it)."""
    options.setdefault("max_rounds", 3)
    epsilon = options.pop("epsilon", CHECK_EPSILON)
    return cls(Membership.of_size(agents), spread_inputs(agents, faulty), faulty, CHECK_DOMAIN,
               epsilon, **options)
