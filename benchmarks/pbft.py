"""PBFT benchmark: time to decide and messages per decision, Ed25519 on, both drivers; memory of
100 concurrent 13-agent runtime sessions.

    python -m benchmarks.pbft            # a readable table
    python -m benchmarks.pbft --json     # one JSON object: {"results": [...], "memory": {...}, ...}

Every run is one ``start_byzantine_consensus`` session that stops once every honest
replica has decided (``stop_when_decided``), with property monitoring at the end
only (``monitor="end"``, so the figures are the protocol's, not the monitor's) and a
view-change timeout far above the decision time (no spurious view changes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from mabeam.api.session import start_byzantine_consensus, start_byzantine_consensus_async
from mabeam.live.network import Latency, NetworkModel

SIZES = (4, 7, 10, 13, 31, 100)
LARGE = 100  # runs at this size are capped at --large-runs (each takes seconds)
SIM_LATENCY = 0.001  # one-way virtual latency of the simulated network, seconds
VIEW_TIMEOUT = 60.0  # far above any decision time: only a faulty primary would trigger a view change
CONCURRENT_SESSIONS, CONCURRENT_AGENTS = 100, 13


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); with few runs p95/p99 are the slowest run."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def last_honest_decision(result: Any) -> float:
    return max(d.at for agent, ds in result.decisions.items() if agent not in result.byzantine for d in ds)


def one_run(driver: str, n: int, faulty: int, seed: int, communication: str = "all-to-all") -> dict[str, float]:
    f = (n - 1) // 3
    byzantine = {f"a{n - 1 - i}": "silent" for i in range(faulty)}  # silent backups: no view change needed
    latency = SIM_LATENCY if driver == "simulator" else 0.0
    started = time.perf_counter()
    result = start_byzantine_consensus(
        "launch", n, fault_tolerance=f, driver=driver, byzantine=byzantine, seed=seed,
        authentication="ed25519", view_timeout=VIEW_TIMEOUT, stop_when_decided=True, monitor="end",
        network=NetworkModel(latency=Latency.constant(latency)),
        timeout=None if driver == "simulator" else 120.0, communication=communication)
    total = time.perf_counter() - started
    if result.status != "decided" or result.violations():
        raise RuntimeError(f"{driver} n={n} seed={seed}: {result.status} {result.violations()}")
    decided_at = last_honest_decision(result)
    return {
        # runtime: real seconds from the run's start to the last honest decision;
        # simulator: the wall-clock compute time of the run (it stops at that decision)
        "ms": (decided_at if driver == "runtime" else result.wall_seconds) * 1000,
        "virtual_ms": decided_at * 1000 if driver == "simulator" else float("nan"),
        "setup_ms": (total - result.wall_seconds) * 1000,  # keys, signed request, replica objects
        "messages": result.messages.sent,
    }


def measure(driver: str, n: int, faulty: int, runs: int) -> dict[str, Any]:
    samples = [one_run(driver, n, faulty, seed) for seed in range(runs)]
    ms = [s["ms"] for s in samples]
    row: dict[str, Any] = {
        "driver": driver, "agents": n, "faulty": faulty, "fault_tolerance": (n - 1) // 3, "runs": runs,
        "median_ms": round(statistics.median(ms), 2), "p95_ms": round(percentile(ms, 95), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "messages": int(statistics.median(s["messages"] for s in samples)),
        "setup_median_ms": round(statistics.median(s["setup_ms"] for s in samples), 2),
    }
    if driver == "simulator":
        row["virtual_median_ms"] = round(statistics.median(s["virtual_ms"] for s in samples), 3)
    return row


# ------------------------------------------------------------------ memory
def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def _concurrent_sessions() -> list[Any]:
    return await asyncio.gather(*(
        start_byzantine_consensus_async(
            f"value-{i}", CONCURRENT_AGENTS, seed=i, session=f"s{i}", authentication="ed25519",
            view_timeout=VIEW_TIMEOUT, timeout=300.0, monitor="end",
            network=NetworkModel(latency=Latency.constant(0.001)))
        for i in range(CONCURRENT_SESSIONS)))


def memory_probe() -> dict[str, Any]:
    """100 concurrent 13-agent runtime sessions in one event loop (run in a fresh process)."""
    before = _rss_kib()
    tracemalloc.start()
    started = time.perf_counter()
    results = asyncio.run(_concurrent_sessions())
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = _rss_kib()
    return {
        "sessions": CONCURRENT_SESSIONS, "agents_per_session": CONCURRENT_AGENTS,
        "all_decided": all(r.status == "decided" for r in results),
        "tracemalloc_peak_mb": round(peak / 2**20, 1),
        "rss_growth_mb": round((after - before) / 1024, 1), "rss_after_mb": round(after / 1024, 1),
        "wall_s": round(elapsed, 2),
        "messages_total": sum(r.messages.sent for r in results),
    }


def memory_in_subprocess() -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--memory-probe"], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


# ------------------------------------------------------------------ main
def run_all(runs: int, large_runs: int, sizes: tuple[int, ...], with_faults: bool) -> dict[str, Any]:
    results = []
    for n in sizes:
        f = (n - 1) // 3
        for faulty in ((0, f) if with_faults and f else (0,)):
            for driver in ("runtime", "simulator"):
                results.append(measure(driver, n, faulty, large_runs if n >= LARGE else runs))
    return {
        "benchmark": "pbft", "authentication": "ed25519", "results": results,
        "memory": memory_in_subprocess(),
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": sys.version.split()[0]},
        "notes": [
            "median_ms/p95_ms/p99_ms: runtime = wall-clock ms from the run's start to the last honest "
            "decision (asyncio, in-process links with zero latency); simulator = wall-clock compute ms "
            "of the run up to that decision. virtual_median_ms (simulator only) = virtual decision "
            f"latency over {SIM_LATENCY * 1000:g} ms links.",
            "setup_median_ms (not included above): deriving Ed25519 keys, signing the request, building "
            "the replicas.",
            "messages: point-to-point messages sent until every honest replica decided (median).",
            f"n={LARGE} runs are capped at {large_runs} (each takes seconds); p95/p99 use nearest rank, so "
            "with 5 runs or fewer they are the slowest run.",
            "faulty = number of Byzantine replicas in the run (silent backups, so no view change); "
            "fault_tolerance = f = floor((n-1)/3). Property monitors check once, at the end.",
            "memory: 100 runtime sessions of 13 agents gathered in one event loop, measured in a fresh "
            "process; tracemalloc_peak_mb counts Python allocations, rss_growth_mb the process growth.",
            "Signature verification results are cached per message in the authenticator (shared by the "
            "replicas of one process); every distinct message is still verified once.",
        ],
    }


def table(report: dict[str, Any]) -> str:
    lines = [f"{'driver':<10} {'n':>4} {'faulty':>6} {'runs':>4} {'median ms':>10} {'p95 ms':>9} "
             f"{'p99 ms':>9} {'virtual ms':>10} {'messages':>9}"]
    for row in report["results"]:
        virtual = f"{row['virtual_median_ms']:.3f}" if "virtual_median_ms" in row else "-"
        lines.append(f"{row['driver']:<10} {row['agents']:>4} {row['faulty']:>6} {row['runs']:>4} "
                     f"{row['median_ms']:>10.2f} {row['p95_ms']:>9.2f} {row['p99_ms']:>9.2f} "
                     f"{virtual:>10} {row['messages']:>9}")
    m = report["memory"]
    lines.append(f"\nmemory: {m['sessions']} concurrent sessions x {m['agents_per_session']} agents: "
                 f"tracemalloc peak {m['tracemalloc_peak_mb']} MB, RSS growth {m['rss_growth_mb']} MB, "
                 f"all decided: {m['all_decided']}, {m['wall_s']} s")
    lines.append(f"machine: {report['machine']}")
    lines += ["", *(f"- {note}" for note in report["notes"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--runs", type=int, default=5, help="runs per configuration (default 5)")
    parser.add_argument("--large-runs", type=int, default=3, help=f"runs at n={LARGE} (default 3)")
    parser.add_argument("--sizes", type=lambda s: tuple(int(x) for x in s.split(",")), default=SIZES)
    parser.add_argument("--no-faults", action="store_true", help="skip the rows with f silent replicas")
    parser.add_argument("--memory-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_probe:
        print(json.dumps(memory_probe()))
        return
    if args.runs < 1 or args.large_runs < 1:
        parser.error("--runs and --large-runs must be at least 1")
    report = run_all(args.runs, min(args.large_runs, args.runs), args.sizes, not args.no_faults)
    print(json.dumps(report, indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()
