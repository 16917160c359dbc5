"""The PBFT package's module graph: the machine imports its handlers, never the reverse.

The handlers (normal, viewchange, catchup, checkpoint) reach the replica only
through ``interface.Replica``, so the package's imports form no circle, counting
imports under ``if TYPE_CHECKING:`` and inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mabeam.protocols.pbft as pbft

PACKAGE = Path(pbft.__file__).parent
HANDLERS = ("normal", "viewchange", "catchup", "checkpoint")


def _graph() -> dict[str, set[str]]:
    """Every module of the package -> the sibling modules it imports, anywhere in its source."""
    modules = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    graph: dict[str, set[str]] = {}
    for name in modules:
        deps: set[str] = set()
        for node in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        graph[name] = deps & modules
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle, or ``None``."""
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> list[str] | None:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return None
        for dep in sorted(graph[name]):
            found = visit(dep, path + [name])
            if found:
                return found
        done.add(name)
        return None

    return next((c for c in (visit(m, []) for m in sorted(graph)) if c), None)


def test_the_package_has_no_import_circle() -> None:
    assert _cycle(_graph()) is None


def test_the_cycle_finder_finds_a_circle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_handlers_depend_on_the_interface_and_the_machine_on_the_handlers() -> None:
    graph = _graph()
    for handler in HANDLERS:
        assert "machine" not in graph[handler], handler
        assert "interface" in graph[handler], handler
    assert set(HANDLERS) <= graph["machine"]
    assert "machine" not in graph["properties"] | graph["adversary"]
