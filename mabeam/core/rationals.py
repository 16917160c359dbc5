"""Exact rationals at the API and on the wire.

Protocols that average or weigh numbers compute with :class:`fractions.Fraction`
so the model checker, the Z3 models and a live run agree bit for bit. Callers
may pass ints, floats or Fractions; NaN, infinities, booleans and non-numbers
are a :class:`ConfigurationError`. On the wire a rational is a ``(numerator,
denominator)`` pair in lowest terms with a positive denominator, so every
value has exactly one canonical encoding.
"""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Rational as RationalNumber

from .errors import ConfigurationError

WireRational = tuple[int, int]


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


def to_wire(value: Fraction) -> WireRational:
    return (value.numerator, value.denominator)


def from_wire(wire: WireRational) -> Fraction | None:
    """The rational a wire pair stands for, or ``None`` if the pair is not canonical."""
    numerator, denominator = wire
    if denominator <= 0 or math.gcd(numerator, denominator) != 1:
        return None
    return Fraction(numerator, denominator)
