"""Measurements of the formal side and of the product itself: checks, proofs, mutants, telemetry
coverage, error handling, code quality, documentation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from ...api.registry import entries, get
from ...api.verify import build_model
from ...checker import check
from ..output import CheckProgress
from .context import Context

#: the tutorial's protocols, checked too when the examples directory is there
TUTORIAL = ("tutorial/two_phase_commit.py:ENTRY", "tutorial/leader_election.py:ENTRY")


def references(ctx: Context) -> list[str]:
    """Every registered protocol, and the tutorial's when the examples directory is there."""
    names = list(entries())
    if ctx.examples is not None:
        names += [str(ctx.examples / t) for t in TUTORIAL if (ctx.examples / t.split(":")[0]).is_file()]
    return names


def checks(ctx: Context, advance: Any) -> dict[str, Any]:
    """The standard exhaustive check of every registered protocol (and the tutorial's), with the
    checker's states-over-time series."""
    rows = []
    for reference in references(ctx):
        entry = get(reference)
        progress = CheckProgress(quiet=True)
        result = check(build_model(entry), entry.properties, progress=progress)
        s = result.stats
        rows.append({"protocol": entry.name, "agents": entry.default_agents, "faulty": entry.default_faulty,
                     "verdict": result.verdict, "distinct_states": s.distinct_states, "seconds": round(s.seconds, 2),
                     "states_per_second": round(s.states_per_second), "series": progress.series,
                     "failed": [r.property.id for r in result.failures()]})
        advance(f"check {entry.name}")
    return {"rows": rows}


def proofs(ctx: Context, advance: Any) -> dict[str, Any]:
    from ...api.proofs import run_proofs
    from ..listing import has_proofs

    rows = []
    for reference in references(ctx):
        entry = get(reference)
        if has_proofs(entry):
            results = run_proofs(reference)
            rows.append({"protocol": entry.name, "proofs": len(results),
                         "failed": [f"{r.id} {r.name}: {r.status}" for r in results if not r.ok]})
    advance("Z3 proofs")
    return {"rows": rows}


def mutants(ctx: Context, advance: Any) -> dict[str, Any]:
    from ..checking import catch_mutant

    rows = []
    for reference in references(ctx):
        entry = get(reference)
        for m in entry.mutants:
            rows.append({"protocol": entry.name, "mutant": m.name, **catch_mutant(entry, m.name)})
        advance(f"mutants of {entry.name}")
    return {"rows": rows}


def telemetry(ctx: Context, advance: Any) -> dict[str, Any]:
    """The three runs every declared event must appear in (the same as the telemetry tests)."""
    from ...api.telemetry import EVENTS
    from .telemetry_runs import coverage

    emitted = coverage()
    advance("telemetry coverage")
    union = set().union(*emitted.values())
    return {"runs": {k: sorted(v) for k, v in emitted.items()}, "declared": sorted(EVENTS),
            "missing": sorted(set(EVENTS) - union)}


#: bad input and the message each must produce (exit code 2, no traceback)
BAD_INPUT = (
    (["check", "nope"], "unknown protocol"),
    (["mutants", "raft"], "unknown protocol"),
    (["check", "majority", "--agents", "4", "--faulty", "2"], "f < n/2"),
    (["check", "majority", "--mutant", "nope"], "has no mutant"),
    (["simulate", "majority", "--agents", "5", "--loss", "1.5"], "--loss"),
    (["check", "no_such_pkg.module:ENTRY"], "cannot import"),
    (["explore", "majority", "--host", "0.0.0.0"], "invalid choice"),
)


def errors(ctx: Context, advance: Any) -> dict[str, Any]:
    """Bad CLI input (exit 2, a message, no traceback), malformed trace files, typed API errors.

    The CLI runs as a user runs it, in its own process: the exit code is the process's.
    """
    from ...api.session import start_byzantine_consensus, start_majority_vote
    from ...core.errors import MabeamError

    folder = ctx.out / "errors"
    folder.mkdir(parents=True, exist_ok=True)
    cases = list(BAD_INPUT)
    for name, text, message in (("empty-list.json", "[]", "expected a JSON object"),
                                ("not-json.json", "{oops", "not JSON"), ("no-model.json", "{}", "no 'model'")):
        (folder / name).write_text(text)
        cases.append((["replay", str(folder / name)], message))
    rows = []
    for argv, expected in cases:
        done = subprocess.run([sys.executable, "-m", "mabeam.cli", *argv], capture_output=True, text=True,
                              timeout=120, cwd=folder)
        rows.append({"argv": argv, "exit_code": done.returncode, "message": done.stderr.strip()[:200],
                     "ok": done.returncode == 2 and expected in done.stderr and "Traceback" not in done.stderr})
    api = []
    for call in (lambda: start_majority_vote({}), lambda: start_byzantine_consensus("x", 3, fault_tolerance=1),
                 lambda: start_majority_vote({"a0": "x", "a0 ": "y"})):
        try:
            call()
            api.append({"ok": False, "error": "no error raised"})
        except MabeamError as exc:
            api.append({"ok": True, "error": f"{type(exc).__name__}: {exc}"})
    advance("error handling")
    return {"cli": rows, "api": api}


def quality(ctx: Context, advance: Any) -> dict[str, Any]:
    """ruff and mypy as configured in the checkout's pyproject.toml (when installed)."""
    root = ctx.root
    if root is None or not (root / "pyproject.toml").is_file():
        return {"skipped": "no checkout (pyproject.toml) to check"}
    found: dict[str, Any] = {}
    for tool, argv in (("ruff", ["ruff", "check", "."]), ("mypy", ["mypy", "mabeam"])):
        try:
            done = subprocess.run([sys.executable, "-m", *argv], cwd=root, capture_output=True, text=True,
                                  timeout=600)
        except subprocess.TimeoutExpired:
            found[tool] = {"ok": False, "summary": "timed out"}
            continue
        if "No module named" in done.stderr:
            found[tool] = {"ok": None, "summary": f"{tool} is not installed"}
            continue
        lines = (done.stdout + done.stderr).strip().splitlines()
        summary = next((line for line in reversed(lines) if line.startswith(("Found", "Success", "All checks"))),
                       lines[-1] if lines else "")
        found[tool] = {"ok": done.returncode == 0, "summary": summary}
    advance("code quality")
    return found


def docs(ctx: Context, advance: Any) -> dict[str, Any]:
    import mabeam

    undocumented = [name for name in mabeam.__all__ if name != "__version__" and
                    not (getattr(getattr(mabeam, name), "__doc__", None) or "").strip()]
    pages = {}
    if ctx.root is not None:
        for page in ("tutorial.md", "concepts.md", "cli.md", "architecture.md"):
            pages[page] = (Path(ctx.root) / "docs" / page).is_file()
    advance("documentation")
    return {"public_names": len(mabeam.__all__), "undocumented": undocumented, "pages": pages}
