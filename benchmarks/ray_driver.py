"""What running the agents as Ray actors costs: the README's PBFT session on the runtime and on Ray.

    python -m benchmarks.ray_driver [--runs 3] [--agents 7]

Prints JSON: for the in-process runtime and for ``driver="ray"`` on a local Ray
instance (``ray.init(num_cpus=2)``, started once), the median wall seconds of a
whole session and of the run itself (``duration``: after the actors are bound),
and, for Ray, the first session apart (it starts a worker process per agent;
later sessions reuse the actors). Needs the ``ray`` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

from mabeam import start_byzantine_consensus
from mabeam.api.session import Driver


def session(driver: Driver, agents: int) -> tuple[float, float, str]:
    started = time.perf_counter()
    result = start_byzantine_consensus("deploy-model-v2", agents, fault_tolerance=(agents - 1) // 3,
                                       byzantine={"a5": "equivocating", "a6": "forging"} if agents >= 7 else None,
                                       seed=1, driver=driver)
    return time.perf_counter() - started, result.duration, result.status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="sessions per driver after the first (default: 3)")
    parser.add_argument("--agents", type=int, default=7, help="PBFT replicas (default: 7)")
    args = parser.parse_args()
    import ray

    from mabeam.runtime import release_actors

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    report: dict[str, Any] = {"agents": args.agents, "runs": args.runs, "load": os.getloadavg()[0],
                              "ray_init_seconds": round(time.perf_counter() - started, 3)}
    try:
        first = session("ray", args.agents)
        report["ray_first_session"] = {"wall": round(first[0], 4), "run": round(first[1], 4), "status": first[2]}
        drivers: tuple[Driver, ...] = ("runtime", "ray")
        for driver in drivers:
            runs = [session(driver, args.agents) for _ in range(args.runs)]
            report[driver] = {"median_wall": round(statistics.median(r[0] for r in runs), 4),
                              "median_run": round(statistics.median(r[1] for r in runs), 4),
                              "statuses": sorted({r[2] for r in runs})}
    finally:
        release_actors()
        ray.shutdown()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
