"""The protocol registry: the protocols mabeam ships, those installed packages declare, and any by import path.

Three ways a protocol reaches every verb of the CLI and the API front door:

- **built in**: the packages under ``mabeam.protocols`` (:data:`PROTOCOL_MODULES`);
- **installed**: any distribution that declares an entry point in the
  ``mabeam.protocols`` group (:data:`ENTRY_POINT_GROUP`) whose object is a
  :class:`~mabeam.core.catalog.ProtocolEntry`, e.g. in its ``pyproject.toml``::

      [project.entry-points."mabeam.protocols"]
      paxos = "my_pkg.paxos:ENTRY"

- **by reference**: ``pkg.module:ENTRY`` (imported with the current directory on
  the import path, as ``uvicorn`` and ``gunicorn`` do) or ``path/to/file.py:ENTRY``.

Why a registry at all: the CLI, the validation report and trace files name a
protocol by one string, and a trace file written for a protocol loaded by
reference records that reference (:func:`source_of`) so ``mabeam replay`` finds
the same code again.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import sys
import zlib
from pathlib import Path

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
#: the entry-point group installed packages declare their protocols in
ENTRY_POINT_GROUP = "mabeam.protocols"

_builtin: dict[str, ProtocolEntry] | None = None
_installed: dict[str, ProtocolEntry] | None = None
_problems: list[str] = []
#: reference -> entry, for protocols loaded by ``pkg.module:ENTRY`` or ``file.py:ENTRY``
_by_reference: dict[str, ProtocolEntry] = {}
#: id(entry) -> where it came from (entry point or reference), for every entry not built in
_sources: dict[int, str] = {}


def builtin_entries() -> dict[str, ProtocolEntry]:
    """The protocols mabeam ships, by name."""
    global _builtin
    if _builtin is None:
        _builtin = {}
        for module in PROTOCOL_MODULES:
            entry = importlib.import_module(module).ENTRY
            _builtin[entry.name] = entry
    return _builtin


def installed_entries() -> dict[str, ProtocolEntry]:
    """The protocols installed packages declare in the ``mabeam.protocols`` entry-point group, by name.

    An entry point that fails to load, holds something else than a
    :class:`ProtocolEntry` or reuses a taken name is left out and described in
    :func:`problems` (``mabeam protocols`` prints them), so one broken plugin
    never hides the others.
    """
    global _installed
    if _installed is None:
        _installed = {}
        taken = set(builtin_entries())
        for point in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
            where = f"entry point {point.name!r} ({point.value})"
            try:
                entry = point.load()
            except Exception as exc:  # a third party's import failure must not stop mabeam
                _problems.append(f"{where}: could not load: {type(exc).__name__}: {exc}")
                continue
            if not isinstance(entry, ProtocolEntry):
                _problems.append(f"{where}: is a {type(entry).__name__}, not a ProtocolEntry")
            elif entry.name in taken:
                _problems.append(f"{where}: the name {entry.name!r} is already taken; left out")
            else:
                taken.add(entry.name)
                _installed[entry.name] = entry
                _sources[id(entry)] = point.value
    return _installed


def entries() -> dict[str, ProtocolEntry]:
    """Every protocol known by name: the built-in ones, then the installed ones."""
    return {**builtin_entries(), **installed_entries()}


def problems() -> list[str]:
    """Why some installed entry points were left out (empty when all loaded)."""
    installed_entries()
    return list(_problems)


def refresh() -> None:
    """Forget what was discovered (after installing a package in the running process)."""
    global _installed
    _installed = None
    _problems.clear()


def get(name: str) -> ProtocolEntry:
    """The protocol registered as ``name``, or the entry a ``pkg.module:ENTRY`` / ``file.py:ENTRY``
    reference names."""
    if not isinstance(name, str) or not name:
        raise UnknownProtocolError(f"a protocol is named by a non-empty string, got {name!r}")
    known = entries()
    if name in known:
        return known[name]
    if ":" in name:
        return load_reference(name)
    raise UnknownProtocolError(
        f"unknown protocol {name!r}; known: {', '.join(known)} (or give pkg.module:ENTRY)")


def source_of(entry: ProtocolEntry) -> str | None:
    """Where a protocol not built in came from (its reference or entry-point value), else ``None``."""
    return _sources.get(id(entry))


def load_reference(reference: str) -> ProtocolEntry:
    """Import the :class:`ProtocolEntry` ``reference`` names: ``pkg.module:ATTR`` or ``path/file.py:ATTR``."""
    if reference in _by_reference:
        return _by_reference[reference]
    where, _, attribute = reference.rpartition(":")
    if not where or not attribute:
        raise UnknownProtocolError(f"{reference!r}: expected pkg.module:ENTRY or path/to/file.py:ENTRY")
    module = _import_file(where) if where.endswith(".py") else _import_module(where)
    found: object = module
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise UnknownProtocolError(f"{reference!r}: {where} has no attribute {attribute!r}")
        found = getattr(found, part)
    if not isinstance(found, ProtocolEntry):
        raise UnknownProtocolError(f"{reference!r} is a {type(found).__name__}, not a ProtocolEntry "
                                   "(see docs/tutorial.md)")
    _by_reference[reference] = found
    _sources[id(found)] = reference
    return found


def _import_module(name: str) -> object:
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise UnknownProtocolError(f"cannot import {name!r}: {exc} (is it installed, or on PYTHONPATH?)") from None
    except Exception as exc:  # the user's module raised while importing: say so, without a traceback
        raise UnknownProtocolError(f"importing {name!r} failed: {type(exc).__name__}: {exc}") from None


def _import_file(path_text: str) -> object:
    path = Path(path_text).resolve()
    if not path.is_file():
        raise UnknownProtocolError(f"no such file: {path_text}")
    name = f"_mabeam_user_{path.stem}_{zlib.crc32(str(path).encode()):08x}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UnknownProtocolError(f"cannot import {path_text}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))  # the file's own imports of its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise UnknownProtocolError(f"importing {path_text} failed: {type(exc).__name__}: {exc}") from None
    return module


def all_mutants() -> list[Mutant]:
    return [m for entry in entries().values() for m in entry.mutants]
