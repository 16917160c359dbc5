"""A weighted vote's authenticated configuration: validation, unit arithmetic, builders.

Weights, the decision threshold and the declared Byzantine weight bound are all
turned into exact :class:`~fractions.Fraction` values here, once, so every
later comparison (``support > threshold * total``) is exact: no float can put a
value that sits exactly on the threshold on the wrong side of it. The quorum is
then a whole number of integer *units* (``unit_scale``, ``quorum_units``).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

from ...core import (
    AgentId,
    ConfigurationError,
    InsufficientReplicasError,
    InvalidWeightError,
    Membership,
    UnknownAgentError,
)

if TYPE_CHECKING:
    from .machine import WeightedVoting

Mode = Literal["byzantine", "crash"]
MODES: tuple[Mode, ...] = ("byzantine", "crash")
#: all-to-all: every member broadcasts its vote; linear: votes to a collector, which broadcasts a certificate
Communication = Literal["all-to-all", "linear"]
COMMUNICATIONS: tuple[Communication, ...] = ("all-to-all", "linear")

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
    return mode


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


def unit_scale(weights: Iterable[Fraction], threshold: Fraction) -> int:
    """Integer units per unit of weight: the least common multiple of the weights'
    denominators times the threshold's, so every weight and the quorum are whole units."""
    return math.lcm(*(w.denominator for w in weights)) * threshold.denominator


def quorum_units(total_units: int, threshold: Fraction) -> int:
    """The units a value's voters must strictly exceed: threshold x total, exactly
    (``total_units`` is a multiple of the threshold's denominator)."""
    return total_units // threshold.denominator * threshold.numerator


_NUMBERED_SESSION = re.compile(r"^(?P<base>.*)#(?P<number>\d+)$")


def next_session(session: str) -> str:
    """``s0`` -> ``s0#1`` -> ``s0#2``: a deterministic fresh session id for the next instance."""
    match = _NUMBERED_SESSION.match(session)
    if match is None:
        return f"{session}#1"
    return f"{match['base']}#{int(match['number']) + 1}"


def demo_configuration(agents: int, faulty: int) -> tuple[dict[AgentId, str], dict[AgentId, int]]:
    """Inputs and weights that make every property bite for ``agents`` with ``faulty`` Byzantine ones.

    The last ``faulty`` agents weigh 1 each; the last honest agent weighs 1 and votes
    ``y``; the other honest agents vote ``x`` with unequal weights. The total is ``3m``
    with ``m >= faulty + 2``, so the faulty weight is below a third, and the ``x`` voters
    hold ``3m - 1 - faulty > 2m``, more than two thirds, so termination is promised.
    With 4 agents and 1 faulty (weights 5, 2, 1, 1) the ``x`` lead plus one faulty vote
    sits exactly on 2/3, the boundary the strict threshold must refuse.
    """
    if not isinstance(agents, int) or agents < 1 or not isinstance(faulty, int) or not 0 <= faulty < agents:
        raise ConfigurationError(f"need 0 <= faulty < agents, got agents={agents!r}, faulty={faulty!r}")
    names = Membership.of_size(agents).agents
    honest = agents - faulty
    if honest == 1:
        weights = [2 * faulty + 1] + [1] * faulty
        values = ["x"] + ["y"] * faulty
    else:
        others = [2 if j % 2 == 0 else 1 for j in range(honest - 2)]
        m = faulty + 2
        while 3 * m - 1 - faulty - sum(others) < max([3, *[o + 1 for o in others]]):
            m += 1
        lead = 3 * m - 1 - faulty - sum(others)
        weights = [lead, *others, 1] + [1] * faulty
        values = ["x"] * (honest - 1) + ["y"] * (faulty + 1)
    return dict(zip(names, values)), dict(zip(names, weights))


def build(agents: int, faulty: int, cls: type[WeightedVoting],
          mode: Mode = "byzantine", communication: Communication = "all-to-all") -> WeightedVoting:
    """The checked configuration: ``faulty`` Byzantine agents (crashes in crash mode) are the last ones.

    ``communication="linear"`` needs a linear-mode ``cls`` (:class:`~.linear.LinearWeightedVoting`
    or a subclass) and gives it the first member as collector and the checker's symbolic signatures.
    """
    inputs, weights = demo_configuration(agents, faulty)
    bound = sum(weights[a] for a in list(weights)[agents - faulty:]) if mode == "byzantine" else 0
    if communication not in COMMUNICATIONS:
        raise ConfigurationError(f"communication must be one of {COMMUNICATIONS}, got {communication!r}")
    if communication == "all-to-all":
        return cls(Membership(inputs), inputs, weights, mode=mode, max_faulty_weight=bound)
    from ...core.auth import SymbolicAuthenticator

    if getattr(cls, "communication", "all-to-all") != "linear":
        raise ConfigurationError(f"{cls.__name__} is not a linear-mode machine (see .linear)")
    membership = Membership(inputs)
    return cls(membership, inputs, weights, mode=mode, max_faulty_weight=bound,  # type: ignore[call-arg]
               auth=SymbolicAuthenticator(membership.agents))
