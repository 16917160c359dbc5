"""Running the scenario examples, each in its own process, with its JSON report written under ``--out``.

Why separate processes: an example is what a user runs, with its own argument
parsing, exit code and memory; running it the same way is the honest check,
and one example's state (caches, event loops, resident memory) cannot leak
into the next one's figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .context import Context


def plan(ctx: Context) -> list[tuple[str, list[str], float]]:
    """(example, arguments, timeout in seconds) for this mode; ``{json}`` is replaced by the report path."""
    stress = ["--minutes", f"{ctx.stress_minutes:g}", "--window", "100"] \
        if not ctx.quick else ["--sessions", "1000", "--window", "100"]
    return [
        ("hierarchical_ml_consensus", ["--json", "{json}"], 300),
        ("adaptive_coordination", ["--json", "{json}"], 300),
        ("byzantine_behavior_simulation", ["--json", "{json}"], 300),
        ("network_partition_testing", ["--json", "{json}"], 300),
        ("distributed_tcp", ctx.pick([], ["--replicas", "7"]), 300),
        ("distributed_ml_training", [*ctx.pick(["--small"], []), "--json", "{json}"], 600),
        ("llm_ensemble_reasoning", ["--json", "{json}"], 600),
        ("massive_scale_test", [*ctx.pick(["--quick"], ["--max", "1000"]), "--json", "{json}"], 1800),
        ("long_running_stress_test", [*stress, "--json", "{json}"], 60 * ctx.stress_minutes + 600),
        ("full_ecosystem_integration", ["--json", "{json}"], 300),
    ]


def planned(ctx: Context) -> list[tuple[str, list[str], float]]:
    """The plan's examples that exist in the examples directory (none without one)."""
    if ctx.examples is None or not ctx.examples.is_dir():
        return []
    return [item for item in plan(ctx) if (ctx.examples / f"{item[0]}.py").is_file()]


def run_example(ctx: Context, name: str, arguments: list[str], timeout: float) -> dict[str, Any]:
    """One example: exit code, wall seconds, the tail of its output, and its JSON report if it wrote one."""
    assert ctx.examples is not None
    script = ctx.examples / f"{name}.py"
    folder = ctx.out / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / f"{name}.json"
    argv = [a.replace("{json}", str(report)) for a in arguments]
    env = dict(os.environ)
    root = str(ctx.examples.resolve().parent)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, str(script), *argv], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=timeout)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired:
        code, output = None, f"timed out after {timeout:.0f} s"
    seconds = time.perf_counter() - started
    (folder / f"{name}.txt").write_text(output, encoding="utf-8")
    data = None
    if report.is_file():
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            data = None
    shown = " ".join(a if a != str(report) else f"--json {report.relative_to(ctx.out)}"[7:] for a in argv)
    return {"example": name, "command": f"python examples/{name}.py {shown}".strip(),
            "exit_code": code, "ok": code == 0, "seconds": round(seconds, 2),
            "tail": "\n".join(str(output).strip().splitlines()[-6:]), "report": data}


def run_examples(ctx: Context, advance: Any) -> dict[str, dict[str, Any]]:
    """Every example of the plan, or nothing when there is no examples directory (an installed package)."""
    found: dict[str, dict[str, Any]] = {}
    for name, arguments, timeout in planned(ctx):
        found[name] = run_example(ctx, name, arguments, timeout)
        advance(f"example {name}")
    return found


def examples_dir(given: str) -> Path | None:
    path = Path(given)
    return path.resolve() if path.is_dir() and any(path.glob("*.py")) else None
