"""The protocol registry: every protocol mabeam ships, by name."""

from __future__ import annotations

import importlib

from ..core.catalog import Mutant, ProtocolEntry
from ..core.errors import UnknownProtocolError

#: modules that export ``ENTRY``; order is the order ``mabeam protocols`` lists them
PROTOCOL_MODULES = (
    "mabeam.protocols.majority",
    "mabeam.protocols.weighted",
    "mabeam.protocols.pbft",
    "mabeam.protocols.iterative",
    "mabeam.protocols.iterative_categorical",
    "mabeam.protocols.adaptive",
    "mabeam.protocols.hierarchical",
)

_entries: dict[str, ProtocolEntry] | None = None


def entries() -> dict[str, ProtocolEntry]:
    global _entries
    if _entries is None:
        found: dict[str, ProtocolEntry] = {}
        for module in PROTOCOL_MODULES:
            entry = importlib.import_module(module).ENTRY
            found[entry.name] = entry
        _entries = found
    return _entries


def get(name: str) -> ProtocolEntry:
    try:
        return entries()[name]
    except KeyError:
        raise UnknownProtocolError(
            f"unknown protocol {name!r}; known: {', '.join(entries())}") from None


def all_mutants() -> list[Mutant]:
    return [m for entry in entries().values() for m in entry.mutants]
