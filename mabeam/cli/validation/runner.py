"""The ``mabeam validate`` verb: run every task within the time budget, judge, draw, write the report.

Exit code 0 when every criterion passes, 1 when any fails or could not be
measured (the report names them), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ...core.errors import ConfigurationError
from ..output import print_json, task_progress
from . import formal, live, plots, report
from .context import Context
from .examples import examples_dir, planned, run_examples
from .judge import judge_all, readiness

Task = Callable[[Context, Callable[[str], None]], Any]
Steps = Callable[[Context], int]


def _one(ctx: Context) -> int:
    return 1


def _per_protocol(ctx: Context) -> int:
    return len(formal.references(ctx))


#: (figure name, task, how many progress steps it reports), cheapest and most telling first
TASKS: tuple[tuple[str, Task, Steps], ...] = (
    ("checks", formal.checks, _per_protocol),
    ("proofs", formal.proofs, _one),
    ("telemetry", formal.telemetry, _one),
    ("errors", formal.errors, _one),
    ("recovery", live.recovery, _one),
    ("fairness", live.weighted_fairness, _one),
    ("consistency", live.consistency, _one),
    ("convergence", live.convergence, _one),
    ("runtime_targets", live.runtime_targets, lambda ctx: 4),
    ("memory", live.memory, _one),
    ("scale", live.scale, lambda ctx: ctx.pick(1, 2)),
    ("latency", live.latency_curves, lambda ctx: len(live.LATENCY_PROTOCOLS)),
    ("mutants", formal.mutants, _per_protocol),
    ("docs", formal.docs, _one),
    ("quality", formal.quality, _one),
)


def validate(args: argparse.Namespace) -> int:
    stress = args.stress_minutes if args.stress_minutes is not None else (0.5 if args.quick else 3.0)
    if not stress > 0:
        raise ConfigurationError(f"--stress-minutes must be positive, got {stress}")
    out = Path(args.out)
    ctx = Context(quick=args.quick, out=out, examples=examples_dir(args.examples), stress_minutes=stress,
                  quiet=args.quiet or args.json)
    out.mkdir(parents=True, exist_ok=True)
    steps = sum(count(ctx) for _, _, count in TASKS) + len(planned(ctx))
    with task_progress(steps, quiet=ctx.quiet, label="validate: ") as advance:
        for name, task, _ in TASKS:
            if ctx.left() <= 0:
                ctx.figures[name] = None  # budget spent: judged "not measured"
                continue
            ctx.figures[name] = task(ctx, advance)
        ctx.figures["examples"] = run_examples(ctx, advance) if ctx.left() > 0 else {}
    verdicts = judge_all(ctx.figures)
    score = readiness(verdicts)
    drawn = plots.draw(ctx.figures, out / "plots")
    meta = {"mode": ctx.mode, "seconds": round(ctx.elapsed(), 1), "version": _version(),
            "python": platform.python_version(), "machine": report.machine(),
            "examples": None if ctx.examples is None else str(ctx.examples), "generated": time.time()}
    doc = report.document(verdicts, score, ctx.figures, drawn, meta)
    paths = report.write(out, doc, drawn)
    if args.json:
        print_json(doc)
    else:
        print(summary(doc, paths))
    return 0 if score["passed"] == score["total"] else 1


def summary(doc: dict[str, Any], paths: dict[str, Path]) -> str:
    r = doc["readiness"]
    lines = [f"mabeam validate ({doc['mode']}): {doc['seconds']:.0f} s"]
    width = max(len(c["criterion"]) for c in doc["criteria"])
    for c in doc["criteria"]:
        mark = {"pass": "PASS", "fail": "FAIL", "not-measured": "----"}[c["status"]]
        lines.append(f"  [{mark}] {c['id']:<3} {c['criterion'][:width]:<{min(width, 70)}.70}  {c['figure']}")
    lines.append(f"readiness score {r['score']:.0%} ({r['passed']}/{r['total']} passed; failing: "
                 f"{', '.join(r['failing']) or 'none'}; not measured: {', '.join(r['not_measured']) or 'none'})")
    lines.append("report: " + ", ".join(str(p) for p in paths.values())
                 + ("" if doc["plots"] else " (no plots: install matplotlib)"))
    return "\n".join(lines)


def _version() -> str:
    from ... import __version__

    return __version__

