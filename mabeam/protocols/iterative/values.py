"""Exact rationals for iterative refinement: API validation and wire encoding.

The state machines compute with :class:`fractions.Fraction` so the model
checker, the Z3 models and a live run agree bit for bit (floating-point
midpoints would make "within epsilon" depend on rounding). Callers may pass
ints, floats or Fractions; NaN, infinities, booleans and non-numbers are a
:class:`ConfigurationError`. On the wire a rational is a ``(numerator,
denominator)`` pair in lowest terms with a positive denominator, so every
value has exactly one canonical encoding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from numbers import Rational as RationalNumber

from ...core import ConfigurationError

Vector = tuple[Fraction, ...]
WireRational = tuple[int, int]
WireVector = tuple[WireRational, ...]


def exact(value: object, what: str = "value") -> Fraction:
    """``value`` as an exact Fraction, or :class:`ConfigurationError` if it is not a finite number."""
    if isinstance(value, bool) or value is None:
        raise ConfigurationError(f"{what} must be a finite number, got {value!r}")
    if isinstance(value, RationalNumber):  # int, Fraction
        return Fraction(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigurationError(f"{what} must be finite, got {value!r}")
        return Fraction(value)
    raise ConfigurationError(f"{what} must be a finite number, got {type(value).__name__}")


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
    return tuple((q.numerator, q.denominator) for q in vector)


def decode(wire: WireVector, dimension: int) -> Vector | None:
    """The vector a message carries, or ``None`` if it is not a canonical ``dimension``-vector."""
    if len(wire) != dimension:
        return None
    out = []
    for numerator, denominator in wire:
        if denominator <= 0 or math.gcd(numerator, denominator) != 1:
            return None
        out.append(Fraction(numerator, denominator))
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
