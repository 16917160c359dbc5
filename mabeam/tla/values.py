"""Python values written as TLA+ expressions (what a trace module's ``Trace`` is made of).

The mapping of each protocol builds plain Python values and this module spells
them in TLA+:

- ``str`` -> a string (the specs' agents, values and "none" markers are strings);
- ``bool`` -> ``TRUE`` / ``FALSE``; ``int`` -> a numeral (negative ones as ``(0 - k)``, which
  every TLC build parses; the specs' modules EXTEND Integers where they need them);
- ``frozenset`` / ``set`` -> an enumerated set ``{...}`` (sorted, so the text is canonical);
- ``tuple`` / ``list`` -> a sequence ``<<...>>`` (TLA+ tuples are sequences);
- :class:`Record` -> a record ``[field |-> value, ...]``;
- ``dict`` -> a function ``(k1 :> v1 @@ k2 :> v2)`` (the ``TLC`` module's notation; the
  trace module EXTENDS TLC). A record and a function with the same string domain are
  equal in TLC, so either spelling compares with the spec's records and functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any


class Record(Mapping[str, Any]):
    """A TLA+ record: an immutable, hashable mapping from field names to values."""

    __slots__ = ("_items",)

    def __init__(self, **fields: Any) -> None:
        self._items = tuple(sorted(fields.items()))

    def __getitem__(self, key: str) -> Any:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and other._items == self._items

    def __repr__(self) -> str:
        return "Record(" + ", ".join(f"{k}={v!r}" for k, v in self._items) + ")"


def _key(value: Any) -> tuple[int, Any]:
    """A total order over the values a trace holds (for canonical set and function text)."""
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, tla(value))


def tla(value: Any) -> str:
    """``value`` as a TLA+ expression (see the module docstring for the correspondence)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value) if value >= 0 else f"(0 - {-value})"
    if isinstance(value, Fraction):
        if value.denominator != 1:
            raise ValueError(f"TLA+ traces hold integers; scale {value} first")
        return tla(int(value))
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, Record):
        if not len(value):
            raise ValueError("a TLA+ record needs at least one field")
        return "[" + ", ".join(f"{k} |-> {tla(v)}" for k, v in value.items()) + "]"
    if isinstance(value, (frozenset, set)):
        return "{" + ", ".join(tla(v) for v in sorted(value, key=_key)) + "}"
    if isinstance(value, (tuple, list)):
        return "<<" + ", ".join(tla(v) for v in value) + ">>"
    if isinstance(value, dict):
        if not value:
            return "<<>>"  # the function with the empty domain
        items = sorted(value.items(), key=lambda kv: _key(kv[0]))
        return "(" + " @@ ".join(f"{tla(k)} :> {tla(v)}" for k, v in items) + ")"
    raise TypeError(f"no TLA+ spelling for {type(value).__name__}: {value!r}")


def to_json(value: Any) -> Any:
    """A JSON-friendly rendering of a mapped value (for ``--json`` reports and diffs)."""
    if isinstance(value, Record):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return [to_json(v) for v in sorted(value, key=_key)]
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, Fraction):
        return str(value)
    return value
