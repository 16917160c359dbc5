"""Canonical encodings and process-independent 64-bit fingerprints of world components.

The checker stores a world as a tuple of component fingerprints (one per agent,
plus the network, the facts so far and the faults). Each component value is
encoded once into canonical bytes (deterministic MessagePack: struct fields in
order, sets sorted) and fingerprinted with 64-bit BLAKE2b, personalised by the
component's kind. Neither step depends on ``PYTHONHASHSEED`` or on the process:
the same component has the same fingerprint in every process and on every
machine, which is what lets traces, parallel workers and distributed searches
agree. The world's own fingerprint is CPython's tuple hash of those integers
(an xxHash-style mix of ints, which are never salted).

:class:`Interner` keeps each distinct component once, so a world costs a tuple
of small integers, and many worlds share the same node states and networks.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Hashable
from fractions import Fraction
from typing import Any, Generic, TypeVar

import msgspec

V = TypeVar("V", bound=Hashable)


def _hook(value: Any) -> Any:
    """Canonical stand-ins for values msgspec does not encode by itself."""
    if isinstance(value, Fraction):
        return ["Fraction", value.numerator, value.denominator]
    if isinstance(value, (set, frozenset)):
        return sorted(canonical_bytes(v) for v in value)
    return [type(value).__qualname__, repr(value)]


_ENCODER = msgspec.msgpack.Encoder(order="deterministic", enc_hook=_hook)
#: marks the slower, general encoding (no single MessagePack value starts with these bytes but int 0)
_GENERAL = b"\x00N"


def canonical_bytes(value: Any) -> bytes:
    """Deterministic bytes of any node state, message, decision or plain value.

    MessagePack's deterministic mode sorts sets, which fails for sets of values
    that have no order (structs, dataclasses); those values are encoded through
    :func:`_normal` instead, under a prefix that keeps the two encodings apart.
    """
    try:
        return _ENCODER.encode(value)
    except TypeError:
        return _GENERAL + _ENCODER.encode(_normal(value))


def _normal(value: Any) -> Any:
    """``value`` with every set replaced by the sorted canonical bytes of its members."""
    if isinstance(value, msgspec.Struct):
        return [type(value).__qualname__, [_normal(getattr(value, f)) for f in value.__struct_fields__]]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [type(value).__qualname__, [_normal(getattr(value, f.name)) for f in dataclasses.fields(value)]]
    if isinstance(value, (set, frozenset)):
        return sorted(canonical_bytes(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return sorted([canonical_bytes(k), _normal(v)] for k, v in value.items())
    return value


def fingerprint(kind: bytes, data: bytes) -> int:
    """64-bit BLAKE2b of ``data``, personalised by the component ``kind`` (an unsigned int)."""
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=kind).digest(), "little")


def mix(position: int, comp: int) -> int:
    """A component fingerprint mixed with its position in the world (see ``ActorModel.fingerprint``)."""
    data = comp.to_bytes(8, "little") + position.to_bytes(4, "little")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, person=b"position").digest(), "little")


class Interner(Generic[V]):
    """Each distinct component value once, with its fingerprint: ``fp -> value`` and back."""

    __slots__ = ("encode", "fps", "kind", "values")

    def __init__(self, kind: bytes, encode: Callable[[V], bytes]) -> None:
        self.kind = kind
        self.encode = encode
        self.values: dict[int, V] = {}
        self.fps: dict[V, int] = {}

    def add(self, value: V) -> int:
        fp = self.fps.get(value)
        if fp is None:
            fp = fingerprint(self.kind, self.encode(value))
            known = self.values.setdefault(fp, value)
            if known != value:  # pragma: no cover - a 64-bit collision between two component values
                raise RuntimeError(f"fingerprint collision between two {self.kind.decode()} components")
            self.fps[value] = fp
        return fp

    def __getitem__(self, fp: int) -> V:
        return self.values[fp]

    def __len__(self) -> int:
        return len(self.values)
