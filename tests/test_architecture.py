"""The shape docs/architecture.md describes, held by the import graph and the registry.

These tests read the code's structure (imports, modules, companion files), not
its text: a layer that imports upward, a driver that knows a protocol, a module
circle, a protocol package missing a module or a companion file, or a second
place that dispatches on effect types all fail here.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import mabeam
from mabeam.api.registry import builtin_entries
from mabeam.core.catalog import PACKAGE_MODULES, ProtocolEntry

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mabeam"

#: layer of each top-level subpackage; a module may import its own package and lower layers only
LAYERS = {"core": 0, "protocols": 1, "live": 2, "checker": 3, "sim": 3, "runtime": 3, "attacks": 3,
          "api": 4, "lab": 5, "cli": 6}
DRIVERS = ("live", "checker", "sim", "runtime")
EFFECTS = {"Send", "Broadcast", "SetTimer", "CancelTimer", "Decide", "Evidence", "Reject", "Defer"}
#: classifying an effect as inert (it changes no state) is not dispatching on it
INERT = {"Reject", "Defer"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        if "models" in path.relative_to(PACKAGE).parts[:1]:
            continue  # the Z3 models live in models/, installed as mabeam.models
        yield module_name(path), path, ast.parse(path.read_text())


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of the import nodes inside ``if TYPE_CHECKING:`` blocks (annotations only, never run)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skipped


def imports_of(name: str, path: Path, tree: ast.Module, *, annotations: bool = True) -> set[str]:
    """Absolute names of the mabeam modules ``name`` imports (with ``annotations``, also those
    imported only for type checking)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    skipped = set() if annotations else _type_checking_only(tree)
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("mabeam"):
                found.add(target)
                for alias in node.names:  # ``from . import x`` names a submodule
                    candidate = f"{target}.{alias.name}"
                    if (ROOT / (candidate.replace(".", "/") + ".py")).exists() or \
                            (ROOT / candidate.replace(".", "/") / "__init__.py").exists():
                        found.add(candidate)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("mabeam")}
    return found


GRAPH = {name: imports_of(name, path, tree) for name, path, tree in modules()}
#: what actually runs: imports made only for annotations are left out
RUNTIME_GRAPH = {name: imports_of(name, path, tree, annotations=False) for name, path, tree in modules()}


def layer_of(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if layer_of(n) in LAYERS))
def test_dependencies_point_down(name: str) -> None:
    own = layer_of(name)
    assert own is not None
    for target in GRAPH[name]:
        other = layer_of(target)
        if other is None or other == own or other == "models":
            assert other != None or target == "mabeam", f"{name} imports the package root {target}"  # noqa: E711
            continue
        assert LAYERS[other] < LAYERS[own], f"{name} (layer {own}) imports {target} (layer {other})"


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if layer_of(n) in DRIVERS))
def test_drivers_import_no_protocol(name: str) -> None:
    assert not [t for t in GRAPH[name] if t.startswith("mabeam.protocols.")], GRAPH[name]


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if n.startswith("mabeam.protocols.")))
def test_protocols_import_only_the_core_and_themselves(name: str) -> None:
    own = ".".join(name.split(".")[:3])
    for target in GRAPH[name]:
        assert target.startswith(("mabeam.core", own + ".")) or target in (own, "mabeam.protocols"), \
            f"{name} imports {target}"


def test_the_import_graph_has_no_cycles() -> None:
    """No module circle among the imports that run (annotation-only imports may point back at a
    protocol's machine class for its type; behaviour may not)."""
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(RUNTIME_GRAPH.get(node, ())):
            if nxt not in RUNTIME_GRAPH or nxt == node or node.startswith(nxt + "."):
                continue  # a package's __init__ re-exporting its own modules is not a circle
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt]
                raise AssertionError(" -> ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(RUNTIME_GRAPH):
        if name not in state and not name.endswith("__main__"):
            visit(name, [name])


def test_effects_are_dispatched_in_exactly_one_place() -> None:
    """No driver, attack or API module tests effects by type (beyond telling inert ones apart):
    :mod:`mabeam.core.interpret` is where effects are dispatched. (Protocols make effects; they
    may look at their own.)"""
    offenders = {}
    for name, _path, tree in modules():
        if name in ("mabeam.core.interpret", "mabeam.core.effects") or name.startswith("mabeam.protocols."):
            continue
        seen: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                seen |= {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Call) \
                    and getattr(node.left.func, "id", None) == "type":
                seen |= {n.id for c in node.comparators for n in ast.walk(c) if isinstance(n, ast.Name)}
            elif isinstance(node, ast.MatchClass):
                seen |= {n.id for n in ast.walk(node.cls) if isinstance(n, ast.Name)}
        dispatched = (seen & EFFECTS) - INERT
        if dispatched:
            offenders[name] = sorted(dispatched)
    assert not offenders, f"effect types dispatched outside mabeam.core.interpret: {offenders}"


# ------------------------------------------------------------------ one protocol shape
ENTRIES = list(builtin_entries().values())


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_protocol_has_the_same_package_modules(entry: ProtocolEntry) -> None:
    package = importlib.import_module(entry.companions.package)
    assert package.ENTRY is entry
    folder = Path(package.__file__).parent
    missing = [m for m in PACKAGE_MODULES if not (folder / f"{m}.py").is_file()]
    assert not missing, f"{entry.companions.package} lacks {missing}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_protocol_has_its_companion_files(entry: ProtocolEntry) -> None:
    missing = [f for f in entry.companions.files() if not (ROOT / f).is_file()]
    assert not missing, f"{entry.name} lacks {missing}"
    importlib.import_module(entry.companions.proofs)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_protocol_declares_its_properties_and_adversary(entry: ProtocolEntry) -> None:
    protocol = entry.factory(entry.default_agents, entry.default_faulty)
    assert type(protocol).properties == entry.properties
    assert "adversary.py" in type(protocol.adversary).__module__.replace(".", "/") + ".py" or \
        type(protocol.adversary).__module__ == "mabeam.core.adversary"
    for m in entry.mutants:
        assert m.protocol == entry.name


def test_every_mabeam_package_is_installed() -> None:
    """pyproject.toml lists packages explicitly (for the models mapping); none may be forgotten."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {module_name(p.parent) for p in PACKAGE.rglob("__init__.py")} | {"mabeam.models"}
    assert found == listed


def test_the_public_api_is_curated() -> None:
    assert sorted(mabeam.__all__) == list(mabeam.__all__)
    for name in mabeam.__all__:
        assert hasattr(mabeam, name), name


def test_examples_benchmarks_and_readme_import_only_public_paths() -> None:
    """Users' code paths: ``mabeam``, the documented subpackages (docs/architecture.md) and their
    modules, and protocol package roots (never a protocol's internal modules)."""
    subpackages = ("core", "checker", "live", "sim", "runtime", "attacks", "api", "lab")
    documented = {"mabeam"} | {f"mabeam.{p}" for p in subpackages}
    documented |= {module_name(path) for p in subpackages for path in (PACKAGE / p).glob("*.py")}
    documented |= {e.companions.package for e in ENTRIES}
    sources = [*sorted((ROOT / "examples").rglob("*.py")), *sorted((ROOT / "benchmarks").glob("*.py"))]
    texts = [(p.name, p.read_text()) for p in sources]
    readme = (ROOT / "README.md").read_text()
    blocks = [b.split("\n", 1)[1] for b in readme.split("```python")[1:]]
    texts += [("README.md", b.split("```")[0]) for b in blocks]
    for where, text in texts:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mabeam"):
                assert node.module in documented, f"{where} imports {node.module}"


# ------------------------------------------------------------------ readable functions
MAX_LINES = 60


def _says_why(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(line.strip().startswith("Why") for line in doc.splitlines())


def test_long_functions_say_why() -> None:
    """No function in the library over about 60 lines without a docstring line (``Why ...``) saying why."""
    long = []
    for name, _path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES and not _says_why(node):
                    long.append(f"{name}.{node.name} ({lines} lines)")
    assert not long, long


def test_complex_functions_say_why() -> None:
    """Cyclomatic complexity over 15 (ruff's C901, noqa ignored) needs a ``Why ...`` docstring line."""
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "C901", "--ignore-noqa",
                          "--output-format", "json", "--exit-zero", str(PACKAGE)],
                         capture_output=True, text=True, check=True).stdout
    unexplained = []
    for finding in json.loads(out):
        path = Path(finding["filename"])
        tree = ast.parse(path.read_text())
        row = finding["location"]["row"]
        func = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
                    and n.lineno == row)
        if not _says_why(func):
            unexplained.append(f"{module_name(path)}.{func.name}: {finding['message']}")
    assert not unexplained, unexplained
