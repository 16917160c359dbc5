"""Benchmark the model checker on Lamport's TwoPhase commit, optionally against a plain BFS.

    python -m benchmarks.checker two-phase --rms 7 [--repeat 3] [--baseline] [--json]

Our figures: distinct/generated states, depth, wall-clock seconds per run and
their median, states per second (distinct states / median seconds), bytes of
the visited-state store per distinct state, and peak RSS. ``--baseline`` adds
the same figures for :mod:`benchmarks.baseline_bfs` on the same successor
function and properties; its bytes per state come from tracemalloc on a
separate run (see ``method`` in the output). Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from typing import Any

from benchmarks import baseline_bfs
from benchmarks.two_phase import PROPERTIES, TLC_DISTINCT_STATES, build
from mabeam.checker import ActorModel, CheckConfig, check

#: the baseline's memory is measured with tracemalloc (slow) on at most this many RMs
TRACEMALLOC_MAX_RMS = 6


def make_model(rms: int) -> ActorModel:
    """TwoPhase.tla's semantics: ``msgs`` is a set that never loses a message."""
    return ActorModel(build(rms), CheckConfig(network="duplicating"))


class StderrProgress:
    """Reports a long run's progress on stderr, at most every ``every`` seconds."""

    def __init__(self, label: str, every: float = 2.0, quiet: bool = False) -> None:
        self.label, self.every, self.quiet = label, every, quiet
        self.last = time.perf_counter()

    def due(self) -> bool:
        now = time.perf_counter()
        if self.quiet or now - self.last < self.every:
            return False
        self.last = now
        return True

    def checker(self, info: dict[str, Any]) -> None:
        if self.due():
            print(f"[{self.label}] depth {info['depth']}: {info['distinct_states']:,} states "
                  f"in {info['seconds']:.1f}s", file=sys.stderr, flush=True)

    def baseline(self, states: int, seconds: float) -> None:
        if self.due():
            print(f"[{self.label}] {states:,} states in {seconds:.1f}s", file=sys.stderr, flush=True)


def measure_checker(rms: int, repeat: int, quiet: bool) -> dict[str, Any]:
    runs: list[float] = []
    cpu: list[float] = []
    stats = None
    for run in range(repeat):
        model = make_model(rms)
        progress = StderrProgress(f"checker run {run + 1}/{repeat}", quiet=quiet)
        cpu_started = time.process_time()
        result = check(model, PROPERTIES, progress=progress.checker)
        cpu.append(time.process_time() - cpu_started)
        if not result.ok:
            raise SystemExit(f"two-phase with {rms} RMs fails its properties: "
                             f"{[r.property.id for r in result.failures()]}")
        stats = result.stats
        runs.append(stats.seconds)
    assert stats is not None
    median = statistics.median(runs)
    return {
        "distinct_states": stats.distinct_states,
        "states_generated": stats.states_generated,
        "depth": stats.depth,
        "seconds": round(median, 4),
        "median_seconds": round(median, 4),
        "runs": [round(s, 4) for s in runs],
        "cpu_seconds": round(statistics.median(cpu), 4),
        "states_per_second": round(stats.distinct_states / median, 1),
        "bytes_per_state": round(stats.bytes_per_state, 2),
        "store_bytes": stats.store_bytes,
        "peak_rss_bytes": stats.peak_rss_bytes,
    }


def measure_baseline(rms: int, repeat: int, quiet: bool) -> dict[str, Any]:
    runs: list[float] = []
    cpu: list[float] = []
    result = None
    for run in range(repeat):
        progress = StderrProgress(f"baseline run {run + 1}/{repeat}", quiet=quiet)
        cpu_started = time.process_time()
        result = baseline_bfs.bfs(make_model(rms), PROPERTIES, progress=progress.baseline)
        cpu.append(time.process_time() - cpu_started)
        runs.append(result.seconds)
    assert result is not None
    median = statistics.median(runs)
    memory_rms = min(rms, TRACEMALLOC_MAX_RMS)
    per_state, measured_states = baseline_bfs.retained_bytes_per_state(lambda: make_model(memory_rms),
                                                                       PROPERTIES)
    return {
        "distinct_states": result.distinct_states,
        "states_generated": result.states_generated,
        "seconds": round(median, 4),
        "median_seconds": round(median, 4),
        "runs": [round(s, 4) for s in runs],
        "cpu_seconds": round(statistics.median(cpu), 4),
        "states_per_second": round(result.distinct_states / median, 1),
        "bytes_per_state": round(per_state, 2),
        "method": (f"tracemalloc: bytes still allocated after a separate BFS run with {memory_rms} RMs "
                   f"({measured_states:,} states) that the visited dict keeps alive (its table, the "
                   f"World keys and parent links, and every value they hold), divided by its states"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"model": "two-phase", "rms": args.rms,
                              "network": "duplicating", "repeat": args.repeat}
    report.update(measure_checker(args.rms, args.repeat, args.quiet))
    expected = TLC_DISTINCT_STATES.get(args.rms)
    report["tlc_distinct_states"] = expected
    report["matches_tlc"] = None if expected is None else report["distinct_states"] == expected
    if args.baseline:
        report["baseline"] = measure_baseline(args.rms, args.baseline_repeat or args.repeat, args.quiet)
        report["speedup"] = round(report["baseline"]["median_seconds"] / report["median_seconds"], 2)
    report["process_peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"two-phase commit, {report['rms']} RMs (TwoPhase.tla), duplicating network",
        f"  distinct states   {report['distinct_states']:,}" + (
            "" if report["tlc_distinct_states"] is None else
            f"  (TLC: {report['tlc_distinct_states']:,}, {'match' if report['matches_tlc'] else 'MISMATCH'})"),
        f"  states generated  {report['states_generated']:,}   depth {report['depth']}",
        f"  median seconds    {report['median_seconds']:.3f}  over runs {report['runs']}"
        f"  (CPU {report['cpu_seconds']:.3f})",
        f"  states/second     {report['states_per_second']:,.0f}",
        f"  bytes/state       {report['bytes_per_state']:.1f}  (visited store)",
        f"  peak RSS          {report['peak_rss_bytes'] / 2**20:.1f} MiB",
    ]
    if "baseline" in report:
        base = report["baseline"]
        lines += [
            "baseline (dict + deque BFS, GC on):",
            f"  median seconds    {base['median_seconds']:.3f}  over runs {base['runs']}"
            f"  (CPU {base['cpu_seconds']:.3f})",
            f"  states/second     {base['states_per_second']:,.0f}",
            f"  bytes/state       {base['bytes_per_state']:.1f}  ({base['method']})",
            f"speedup             {report['speedup']:.2f}x",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="model", required=True)
    two_phase = sub.add_parser("two-phase", help="Lamport's TwoPhase.tla with N resource managers")
    two_phase.add_argument("--rms", type=int, default=5, help="number of resource managers (default 5)")
    two_phase.add_argument("--repeat", type=int, default=3, help="timed runs; the median is reported")
    two_phase.add_argument("--baseline", action="store_true", help="also time the straightforward BFS")
    two_phase.add_argument("--baseline-repeat", type=int, default=None,
                           help="timed baseline runs (default: --repeat)")
    two_phase.add_argument("--json", action="store_true", help="print one JSON object")
    two_phase.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.rms < 1 or args.repeat < 1 or (args.baseline_repeat is not None and args.baseline_repeat < 1):
        parser.error("--rms, --repeat and --baseline-repeat must be positive")
    report = run(args)
    print(json.dumps(report) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
