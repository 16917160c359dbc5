"""When two decisions count as the same: exact equality, or closeness within a tolerance.

A protocol says which applies through :meth:`~mabeam.core.protocol.Protocol.decisions_agree`;
drivers and reports ask it instead of reading protocol attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any


def value_key(value: Any) -> Any:
    """A hashable stand-in for a decided value (its repr when the value is unhashable)."""
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def exactly_equal(values: Sequence[Any]) -> bool:
    return len({value_key(v) for v in values}) <= 1


def within_tolerance(values: Sequence[Any], tolerance: Any) -> bool:
    """Whether every two ``values`` agree number by number within ``tolerance``.

    Vectors agree coordinate-wise; integers (counts such as a round number) must
    be equal; anything else must be equal.
    """
    return all(_close(a, b, tolerance) for i, a in enumerate(values) for b in values[i + 1:])


def _close(a: Any, b: Any, tolerance: Any) -> bool:
    if isinstance(a, Integral) and isinstance(b, Integral):
        return bool(a == b)
    if _is_number(a) and _is_number(b):
        return bool(abs(a - b) <= tolerance)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b))
    return bool(value_key(a) == value_key(b))


def _is_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool)
