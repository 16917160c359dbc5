"""Benchmark the model checker on Lamport's TwoPhase commit against a direct breadth-first search.

    python -m benchmarks.checker two-phase --rms 8 [--repeat 3] [--baseline] [--symmetry] [--por] [--json]
    python -m benchmarks.checker parallel --rms 8 [--repeat 3] [--workers 2] [--ray] [--json]

Every run is a fresh process (so its peak resident memory is its own): the
checker (``benchmarks/two_phase.py`` through :func:`mabeam.check`) and, with
``--baseline``, the same spec written directly as tuples and frozensets
(``benchmarks/direct_two_phase.py``, no project code), both judging TCConsistent
and TypeOK on every state. The two alternate, ``--repeat`` times each; medians
are reported with the machine's load before and after. ``ratio`` is the
checker's median time over the direct search's: at most 1.0 means the checker
is at least as fast. With ``--symmetry`` (or ``--por``) the checker explores
the reduced space and the figures describe it; the unreduced count is reported
beside the reduced one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.direct_two_phase import TLC_DISTINCT_STATES  # a plain module: the direct runs import no project code

#: TwoPhase's distinct states beyond TLC_DISTINCT_STATES (N=9: counted by the direct search and the checker alike)
MORE_DISTINCT_STATES = {9: 10_340_352}


def measure_checker(rms: int, symmetry: bool, por: bool) -> dict[str, Any]:
    from benchmarks.two_phase import PROPERTIES, build
    from mabeam import ActorModel, CheckConfig, check

    model = ActorModel(build(rms), CheckConfig(network="duplicating", symmetry=symmetry, por=por))
    cpu = time.process_time()
    result = check(model, PROPERTIES)
    cpu = time.process_time() - cpu
    if result.verdict != "holds":
        raise SystemExit(f"two-phase with {rms} RMs: {result.verdict} {[r.property.id for r in result.failures()]}")
    s = result.stats
    return {"distinct_states": s.distinct_states, "states_generated": s.states_generated, "depth": s.depth,
            "seconds": s.seconds, "cpu_seconds": cpu, "store_bytes": s.store_bytes,
            "bytes_per_state": s.bytes_per_state, "peak_rss_bytes": _peak(), "notes": result.notes}


def measure_parallel(rms: int, workers: int, ray: bool) -> dict[str, Any]:
    """One check with ``workers`` local processes (1: the one-process search) or Ray actors; Ray is started
    before the clock (its start-up is reported apart, as on a running cluster)."""
    from benchmarks.two_phase import PROPERTIES, build
    from mabeam import ActorModel, CheckConfig, check

    ray_start = None
    if ray:
        import ray as ray_module

        started = time.perf_counter()
        ray_module.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray_start = time.perf_counter() - started
    model = ActorModel(build(rms), CheckConfig(network="duplicating"))
    cpu = time.process_time()
    result = check(model, PROPERTIES, workers=workers, ray="local" if ray else None)
    cpu = time.process_time() - cpu
    if result.verdict != "holds":
        raise SystemExit(f"two-phase with {rms} RMs: {result.verdict}")
    s = result.stats
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"distinct_states": s.distinct_states, "states_generated": s.states_generated, "depth": s.depth,
            "seconds": s.seconds, "cpu_seconds": cpu, "worker_cpu_seconds": children.ru_utime + children.ru_stime,
            "worker_cpu": s.worker_cpu, "peak_rss_bytes": max(s.peak_rss_bytes, _peak()), "notes": result.notes,
            "ray_start_seconds": ray_start}


def run_parallel(args: argparse.Namespace) -> dict[str, Any]:
    """One process against ``--workers`` processes (and Ray actors), alternating fresh processes."""
    load_before = os.getloadavg()
    modes = [("one-process", 1, False), (f"workers-{args.workers}", args.workers, False)]
    if args.ray:
        modes.append((f"ray-{args.workers}", args.workers, True))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _w, _r in modes}
    for k in range(args.repeat):
        for name, workers, ray in modes:
            command = [sys.executable, "-m", "benchmarks.checker", "_measure", "parallel", "--rms", str(args.rms),
                       "--workers", str(workers)] + ["--ray"] * ray
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            runs[name].append(json.loads(done.stdout))
            _say(args, f"{name} run {k + 1}/{args.repeat}: {runs[name][-1]['seconds']:.2f}s")
    report: dict[str, Any] = {"model": "two-phase", "rms": args.rms, "network": "duplicating",
                              "repeat": args.repeat, "workers": args.workers, "modes": {}}
    base = statistics.median(r["seconds"] for r in runs["one-process"])
    counts = {name: {r["distinct_states"] for r in rs} for name, rs in runs.items()}
    for name, rs in runs.items():
        median = statistics.median(r["seconds"] for r in rs)
        report["modes"][name] = {
            "distinct_states": rs[0]["distinct_states"], "median_seconds": round(median, 3),
            "runs": [round(r["seconds"], 3) for r in rs], "speedup": round(base / median, 3),
            "peak_rss_bytes": int(statistics.median(r["peak_rss_bytes"] for r in rs)),
            "cpu_seconds": round(statistics.median(r["cpu_seconds"] + r["worker_cpu_seconds"] for r in rs), 3),
            "notes": rs[0]["notes"],
            **({"ray_start_seconds": round(statistics.median(r["ray_start_seconds"] for r in rs), 2)}
               if rs[0]["ray_start_seconds"] is not None else {}),
        }
    report["same_distinct_states"] = len(set().union(*counts.values())) == 1
    report["machine"] = {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
                         "load_average_after": [round(x, 2) for x in os.getloadavg()],
                         "python": sys.version.split()[0]}
    return report


def render_parallel(report: dict[str, Any]) -> str:
    lines = [f"two-phase commit, {report['rms']} RMs, duplicating network: one process against "
             f"{report['workers']} workers ({report['repeat']} alternating runs each)"]
    for name, m in report["modes"].items():
        extra = f", Ray start-up {m['ray_start_seconds']} s (not timed)" if "ray_start_seconds" in m else ""
        lines.append(f"  {name:<12} {m['distinct_states']:>11,} states  median {m['median_seconds']:8.3f} s  "
                     f"speedup {m['speedup']:.2f}x  CPU {m['cpu_seconds']:.1f} s  "
                     f"peak RSS {m['peak_rss_bytes'] / 2**20:,.0f} MiB{extra}")
    machine = report["machine"]
    lines.append(f"same distinct states: {report['same_distinct_states']}; machine: {machine['cpus']} CPUs, "
                 f"load {machine['load_average_before']} -> {machine['load_average_after']}")
    return "\n".join(lines)


def measure_direct(rms: int) -> dict[str, Any]:
    from benchmarks.direct_two_phase import bfs

    cpu = time.process_time()
    result = bfs(rms)
    cpu = time.process_time() - cpu
    if result["violations"] or not result["all_committed_reached"]:
        raise SystemExit("the direct search disagrees with the spec's invariants")
    return {**result, "cpu_seconds": cpu, "peak_rss_bytes": _peak()}


def _peak() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _in_fresh_process(which: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.checker", "_measure", which, "--rms", str(args.rms)]
    command += ["--symmetry"] * args.symmetry + ["--por"] * args.por
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in runs]
    median = statistics.median(seconds)
    states = runs[0]["distinct_states"]
    peak = int(statistics.median(r["peak_rss_bytes"] for r in runs))
    out = {key: runs[0][key] for key in ("distinct_states", "states_generated", "depth") if key in runs[0]}
    out.update({
        "seconds": round(median, 4), "median_seconds": round(median, 4), "runs": [round(s, 4) for s in seconds],
        "cpu_seconds": round(statistics.median(r["cpu_seconds"] for r in runs), 4),
        "states_per_second": round(states / median, 1) if median else 0.0,
        "peak_rss_bytes": peak, "rss_bytes_per_state": round(peak / states, 1),
    })
    if "bytes_per_state" in runs[0]:
        out["bytes_per_state"] = round(runs[0]["bytes_per_state"], 2)
        out["store_bytes"] = runs[0]["store_bytes"]
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = os.getloadavg()
    ours: list[dict[str, Any]] = []
    direct: list[dict[str, Any]] = []
    for k in range(args.repeat):  # alternate, so both see the same machine
        ours.append(_in_fresh_process("checker", args))
        _say(args, f"checker run {k + 1}/{args.repeat}: {ours[-1]['seconds']:.2f}s")
        if args.baseline:
            direct.append(_in_fresh_process("direct", args))
            _say(args, f"direct run {k + 1}/{args.repeat}: {direct[-1]['seconds']:.2f}s")
    report: dict[str, Any] = {"model": "two-phase", "rms": args.rms, "network": "duplicating",
                              "repeat": args.repeat, "symmetry": args.symmetry, "por": args.por}
    report.update(_summary(ours))
    report["notes"] = ours[0]["notes"]
    unreduced = TLC_DISTINCT_STATES.get(args.rms) or MORE_DISTINCT_STATES.get(args.rms)
    report["tlc_distinct_states"] = TLC_DISTINCT_STATES.get(args.rms)
    report["unreduced_distinct_states"] = unreduced
    if args.symmetry or args.por:
        report["reduced_from"] = unreduced
        report["matches_tlc"] = None
    else:
        report["matches_tlc"] = None if unreduced is None else report["distinct_states"] == unreduced
    if args.baseline:
        base = _summary(direct)
        report["baseline"] = {**base, "implementation": "benchmarks/direct_two_phase.py: tuples, frozensets, a dict"}
        report["ratio"] = round(report["median_seconds"] / base["median_seconds"], 3)
        report["speedup"] = round(base["median_seconds"] / report["median_seconds"], 3)
        report["rss_ratio"] = round(report["peak_rss_bytes"] / base["peak_rss_bytes"], 3)
    load_after = os.getloadavg()
    report["machine"] = {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
                         "load_average_after": [round(x, 2) for x in load_after],
                         "python": sys.version.split()[0]}
    return report


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(f"[benchmarks.checker] {text}", file=sys.stderr, flush=True)


def render(report: dict[str, Any]) -> str:
    reduced = " (reduced)" if report["symmetry"] or report["por"] else ""
    lines = [
        f"two-phase commit, {report['rms']} RMs (TwoPhase.tla), duplicating network"
        + (", symmetry" if report["symmetry"] else "") + (", partial-order reduction" if report["por"] else ""),
        f"  distinct states   {report['distinct_states']:,}{reduced}"
        + ("" if report["unreduced_distinct_states"] is None else
           f"  (unreduced: {report['unreduced_distinct_states']:,})"),
        f"  states generated  {report['states_generated']:,}   depth {report['depth']}",
        f"  median seconds    {report['median_seconds']:.3f}  over runs {report['runs']}"
        f"  (CPU {report['cpu_seconds']:.3f})",
        f"  peak RSS          {report['peak_rss_bytes'] / 2**20:.1f} MiB  ({report['rss_bytes_per_state']:.1f} B/state;"
        f" visited store {report['bytes_per_state']:.1f} B/state)",
    ]
    if "baseline" in report:
        base = report["baseline"]
        lines += [
            "direct breadth-first search over tuples (benchmarks/direct_two_phase.py):",
            f"  median seconds    {base['median_seconds']:.3f}  over runs {base['runs']}"
            f"  (CPU {base['cpu_seconds']:.3f})",
            f"  peak RSS          {base['peak_rss_bytes'] / 2**20:.1f} MiB"
            f"  ({base['rss_bytes_per_state']:.1f} B/state)",
            f"time ratio          {report['ratio']:.3f}  (checker / direct; <= 1 is as fast or faster)",
        ]
    machine = report["machine"]
    lines.append(f"machine: {machine['cpus']} CPUs, load {machine['load_average_before']} -> "
                 f"{machine['load_average_after']}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="model", required=True)
    two_phase = sub.add_parser("two-phase", help="Lamport's TwoPhase.tla with N resource managers")
    two_phase.add_argument("--rms", type=int, default=5, help="number of resource managers (default 5)")
    two_phase.add_argument("--repeat", type=int, default=3, help="timed runs of each search; medians are reported")
    two_phase.add_argument("--baseline", action="store_true", help="also time the direct search, alternating")
    two_phase.add_argument("--symmetry", action="store_true", help="the checker with symmetry reduction")
    two_phase.add_argument("--por", action="store_true", help="the checker with partial-order reduction")
    two_phase.add_argument("--json", action="store_true", help="print one JSON object")
    two_phase.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parallel = sub.add_parser("parallel", help="TwoPhase in one process against N workers (and Ray actors)")
    parallel.add_argument("--rms", type=int, default=8, help="number of resource managers (default 8)")
    parallel.add_argument("--repeat", type=int, default=3, help="timed runs of each mode; medians are reported")
    parallel.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parallel.add_argument("--ray", action="store_true", help="also as Ray actors on a local Ray instance")
    parallel.add_argument("--json", action="store_true", help="print one JSON object")
    parallel.add_argument("--quiet", action="store_true", help="no progress on stderr")
    measure = sub.add_parser("_measure", help=argparse.SUPPRESS)
    measure.add_argument("which", choices=["checker", "direct", "parallel"])
    measure.add_argument("--rms", type=int, required=True)
    measure.add_argument("--symmetry", action="store_true")
    measure.add_argument("--por", action="store_true")
    measure.add_argument("--workers", type=int, default=1)
    measure.add_argument("--ray", action="store_true")
    args = parser.parse_args(argv)
    if args.model == "_measure":
        if args.which == "parallel":
            figures = measure_parallel(args.rms, args.workers, args.ray)
        else:
            figures = measure_direct(args.rms) if args.which == "direct" else \
                measure_checker(args.rms, args.symmetry, args.por)
        print(json.dumps(figures))
        return 0
    if args.rms < 1 or args.repeat < 1:
        parser.error("--rms and --repeat must be positive")
    if args.model == "parallel":
        report = run_parallel(args)
        print(json.dumps(report) if args.json else render_parallel(report))
        return 0
    report = run(args)
    print(json.dumps(report) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
