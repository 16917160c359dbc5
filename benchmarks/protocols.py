"""Performance of every protocol: latency percentiles, throughput, messages per decision, peak memory.

    python -m benchmarks.protocols                 # the full suite (a few minutes)
    python -m benchmarks.protocols --quick         # small sizes, few seeds (seconds)
    python -m benchmarks.protocols --protocols majority pbft --sizes 4 13 --runs 9

Prints one JSON object ``{"results": [...], "machine": {...}, "notes": [...]}``.
Each row is one (protocol, driver, agents): ``runs`` sessions run back to back with
seeds 0..runs-1 through the public API (:mod:`mabeam.api.session`,
:func:`mabeam.api.adaptive.run_adaptive_coordination`, :func:`mabeam.api.pipeline.run_pipeline`),
then one more session under ``tracemalloc`` for the peak memory. Every session must
decide with agreement and no violated property, or the benchmark stops with an error.

:func:`mabeam.lab.workloads.run_session` is the uniform "run one session of protocol
P with n agents" used here and by ``examples/massive_scale_test.py`` and
``examples/long_running_stress_test.py``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from typing import Any

from mabeam import NetworkModel
from mabeam.lab.workloads import (
    DRIVERS,
    PROTOCOLS,
    QUICK_SIZES,
    SIM_NETWORK,
    SIZES,
    run_session,
)


# ------------------------------------------------------------------ measuring
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); with few runs p95/p99 are the slowest run."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def peak_memory(protocol: str, n: int, driver: str, seed: int, network: NetworkModel | None) -> float:
    """Peak Python allocation (MiB) of one more session, traced on its own."""
    gc.collect()
    tracemalloc.start()
    try:
        run_session(protocol, n, driver=driver, seed=seed, network=network)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(protocol: str, n: int, driver: str, runs: int) -> dict[str, Any]:
    network = SIM_NETWORK if driver == "simulator" else None
    run_session(protocol, n, driver=driver, seed=runs + 1, network=network)  # warm-up: imports, caches
    started = time.perf_counter()
    outcomes = [run_session(protocol, n, driver=driver, seed=seed, network=network) for seed in range(runs)]
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed:
        o = failed[0]
        raise RuntimeError(f"{protocol} n={n} {driver} seed={o.seed}: {o.status}, agreement {o.agreement}, "
                           f"violated {o.violated}")
    wall_ms = [o.wall * 1000 for o in outcomes]
    row: dict[str, Any] = {
        "protocol": protocol, "driver": driver, "agents": n, "runs": runs,
        "wall_p50_ms": round(statistics.median(wall_ms), 2), "wall_p95_ms": round(percentile(wall_ms, 95), 2),
        "wall_p99_ms": round(percentile(wall_ms, 99), 2),
        "throughput_sessions_per_s": round(runs / elapsed, 2),
        "messages_per_decision": statistics.median(o.messages for o in outcomes),
        "messages_per_agent": round(statistics.median(o.messages for o in outcomes) / n, 1),
        "peak_memory_mib": round(peak_memory(protocol, n, driver, runs, network), 2),
        "all_decided": True, "agreement": True,
    }
    latency_ms = [o.latency * 1000 for o in outcomes]
    prefix = "virtual" if driver == "simulator" else "decision"
    row.update({f"{prefix}_p50_ms": round(statistics.median(latency_ms), 3),
                f"{prefix}_p95_ms": round(percentile(latency_ms, 95), 3),
                f"{prefix}_p99_ms": round(percentile(latency_ms, 99), 3)})
    return row


def run_all(protocols: tuple[str, ...], sizes: tuple[int, ...], drivers: tuple[str, ...], runs: int,
            progress: bool = False) -> dict[str, Any]:
    results = []
    for protocol in protocols:
        for n in sizes:
            for driver in drivers:
                results.append(measure(protocol, n, driver, runs))
                if progress:
                    r = results[-1]
                    print(f"{protocol:<22} {driver:<9} n={n:<3} p50 {r['wall_p50_ms']:>9.2f} ms  "
                          f"{r['throughput_sessions_per_s']:>7.2f}/s  {r['messages_per_decision']:>7} msgs  "
                          f"{r['peak_memory_mib']:>7.2f} MiB", file=sys.stderr, flush=True)
    return {
        "benchmark": "protocols", "sizes": list(sizes), "runs": runs, "results": results,
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": sys.version.split()[0]},
        "notes": [
            "wall_p*_ms: wall-clock ms per session call, setup included (keys, signatures, objects).",
            "virtual_p*_ms (simulator): virtual time to the last honest decision over uniform 1-5 ms links; "
            "decision_p*_ms (runtime): real time from the run's start to the last honest decision "
            "(asyncio, in-process links without added latency).",
            "throughput: sessions run back to back, one after another, per wall second (after one "
            "untimed warm-up session per row).",
            "messages_per_decision: median point-to-point messages of one session (pipeline: all levels).",
            "peak_memory_mib: tracemalloc peak of one extra session traced on its own.",
            "sessions stop once every honest agent decided; properties are checked once, at the end; "
            "PBFT signs with Ed25519; iterative runs 3 rounds (epsilon 1/8 on [0, 1]); "
            "pipeline = PBFT + weighted + 3-round refinement, n agents per level, each level on the "
            "library's default network (run_pipeline takes none: constant 1 ms links in the simulator).",
            "p95/p99 use nearest rank: with fewer than 20 runs they are the slowest run.",
        ],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument("--sizes", nargs="+", type=int, default=None)
    parser.add_argument("--drivers", nargs="+", choices=DRIVERS, default=list(DRIVERS))
    parser.add_argument("--runs", type=int, default=None, help="sessions per row (default 9, quick 3)")
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 runs")
    parser.add_argument("--progress", action="store_true", help="one line per row on stderr")
    args = parser.parse_args(argv)
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    runs = args.runs or (3 if args.quick else 9)
    if runs < 1 or any(n < 4 for n in sizes):
        parser.error("--runs must be >= 1 and every size >= 4 (PBFT needs n >= 3f + 1 with f >= 1)")
    report = run_all(tuple(args.protocols), sizes, tuple(args.drivers), runs, args.progress)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
