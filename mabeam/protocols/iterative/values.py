"""Exact rational vectors for approximate agreement: API validation, wire encoding, round count.

Scalars are 1-vectors. A vector travels as a tuple of canonical ``(numerator,
denominator)`` pairs (:mod:`mabeam.core.rationals`), so every value has exactly
one encoding and a non-canonical one is rejected, never counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from ...core import ConfigurationError
from ...core.rationals import WireRational, exact, from_wire, to_wire

Vector = tuple[Fraction, ...]
WireVector = tuple[WireRational, ...]


def exact_vector(value: object, what: str = "value") -> Vector:
    """A number or a non-empty sequence of numbers as an exact vector (scalars are 1-vectors)."""
    if isinstance(value, (str, bytes)):
        raise ConfigurationError(f"{what} must be a number or a sequence of numbers, got {value!r}")
    if isinstance(value, Sequence):
        if not value:
            raise ConfigurationError(f"{what} must not be an empty vector")
        return tuple(exact(v, f"{what}[{i}]") for i, v in enumerate(value))
    return (exact(value, what),)


def encode(vector: Vector) -> WireVector:
    return tuple(to_wire(q) for q in vector)


def decode(wire: WireVector, dimension: int) -> Vector | None:
    """The vector a message carries, or ``None`` if it is not a canonical ``dimension``-vector."""
    if len(wire) != dimension:
        return None
    out = []
    for pair in wire:
        value = from_wire(pair)
        if value is None:
            return None
        out.append(value)
    return tuple(out)


def spread(vectors: Sequence[Vector]) -> Vector:
    """Coordinate-wise range (max - min) of non-empty ``vectors``."""
    return tuple(max(column) - min(column) for column in zip(*vectors))


def rounds_needed(width: Fraction, epsilon: Fraction) -> int:
    """The least R >= 0 with width / 2**R <= epsilon: ceil(log2(width / epsilon)), exactly."""
    rounds = 0
    while width > epsilon * (2 ** rounds):
        rounds += 1
    return rounds
