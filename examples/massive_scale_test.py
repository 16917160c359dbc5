"""Massive agent coordination: progressive loading from 10 to 500 agents (1000 with ``--max 1000``).

For each size, majority, weighted (heterogeneous expertise weights), iterative
refinement (approximate agreement, 3 rounds) and PBFT (Ed25519, capped at 100
agents: its handler verifies signatures of O(n^2) messages) run one session in
the seeded simulator over a realistic network: log-normal one-way latency
(median 20 ms, floor 2 ms) and a partition cutting a third of the agents off
from the rest until it heals at 0.5 s. Each run goes to quiescence with the
live property monitor on (its default schedule: every decision up to 64 agents,
sparse above), so safety, reachability and liveness verdicts are all judged.

Per size it reports virtual time to decide, wall time (median of ``--runs``), messages (total and per
agent), peak Python memory (tracemalloc, from a second identical run that also
checks the trace is reproducible), agreement and the monitor's verdicts; then
the success criteria with PASS/FAIL.

    python examples/massive_scale_test.py                # 10, 50, 100, 250, 500
    python examples/massive_scale_test.py --max 1000     # ... and 1000 (majority, weighted)
    python examples/massive_scale_test.py --quick --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import resource
import statistics
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from mabeam.lab.workloads import Outcome, agents_of, run_session
from mabeam.live.network import Latency, NetworkModel, Partition

PROTOCOLS = ("majority", "weighted", "iterative", "pbft")
SIZES = (10, 50, 100, 250, 500)
QUICK_SIZES = (10, 20)
#: largest size run per protocol (the others go to --max)
CAPS = {"pbft": 100, "iterative": 100}
HEAL = 0.5  # virtual seconds: when the partition heals
AFTER_HEAL_BOUND = 1.0  # every size must decide within this many virtual seconds after the heal
MEMORY_PER_AGENT_KIB = 256  # peak traced memory per agent at the largest size
#: wall-clock targets of the scenario document (agents -> seconds), checked where the size is run
DOC_TARGETS = {"weighted": {50: 2.0, 250: 10.0}, "pbft": {100: 30.0}}


def network(n: int) -> NetworkModel:
    """Log-normal latency; the first third of the agents partitioned from the rest until ``HEAL``."""
    agents = agents_of(n)
    cut = max(1, n // 3)
    return NetworkModel(latency=Latency.lognormal(0.02, 0.5, floor=0.002),
                        partitions=(Partition([agents[:cut], agents[cut:]], start=0.0, heal=HEAL),))


def measure(protocol: str, n: int, seed: int, runs: int = 1) -> dict[str, Any]:
    """``runs`` untraced runs (median wall time) and one traced run (memory, reproducibility) of one session."""
    outcomes = [run_session(protocol, n, seed=seed, network=network(n), fast=False) for _ in range(runs)]
    outcome = outcomes[0]
    if any(o.deterministic() != outcome.deterministic() for o in outcomes):
        raise RuntimeError(f"{protocol} n={n}: repeated runs with seed {seed} differ")
    outcome.wall = statistics.median(o.wall for o in outcomes)
    gc.collect()
    tracemalloc.start()
    try:
        again = run_session(protocol, n, seed=seed, network=network(n), fast=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return row(outcome, again, peak)


def row(outcome: Outcome, again: Outcome, peak: int) -> dict[str, Any]:
    verdicts: dict[str, int] = {}
    for status in outcome.verdicts.values():
        verdicts[status] = verdicts.get(status, 0) + 1
    return {
        "protocol": outcome.protocol, "agents": outcome.agents, "status": outcome.status,
        "decided": outcome.status == "decided", "agreement": outcome.agreement, "value": str(outcome.value),
        "virtual_decision_s": round(outcome.latency, 6), "wall_s": round(outcome.wall, 3),
        "messages": outcome.messages, "messages_per_agent": round(outcome.messages / outcome.agents, 1),
        "peak_memory_mib": round(peak / 2**20, 2), "memory_per_agent_kib": round(peak / 1024 / outcome.agents, 1),
        "verdicts": dict(sorted(verdicts.items())), "violated": outcome.violated,
        "reproducible": outcome.deterministic() == again.deterministic(),
    }


def scaling(rows: list[dict[str, Any]], key: str) -> dict[str, float]:
    """Per protocol, the exponent k of ``key ~ agents^k`` (least squares on logs; needs 2+ sizes)."""
    out = {}
    for protocol in dict.fromkeys(r["protocol"] for r in rows):
        points = [(r["agents"], r[key]) for r in rows if r["protocol"] == protocol and r[key] > 0]
        if len(points) >= 2:
            x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
            out[protocol] = round(float(np.polyfit(x, y, 1)[0]), 2)
    return out


def criteria(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    largest = {p: max(r["agents"] for r in rows if r["protocol"] == p) for p in {r["protocol"] for r in rows}}
    at_largest = [r for r in rows if r["agents"] == largest[r["protocol"]]]
    checks = [
        ("every size of every protocol decided with agreement",
         all(r["decided"] and r["agreement"] for r in rows), f"{len(rows)} runs"),
        ("the live monitor found no violated property", all(not r["violated"] for r in rows),
         ", ".join(f"{r['protocol']}/{r['agents']}: {r['violated']}" for r in rows if r["violated"]) or "none"),
        ("every run reproduced exactly from its seed (traced rerun)", all(r["reproducible"] for r in rows), ""),
        (f"every size decided within {AFTER_HEAL_BOUND} s (virtual) after the partition healed at {HEAL} s",
         all(r["virtual_decision_s"] <= HEAL + AFTER_HEAL_BOUND for r in rows),
         f"slowest {max(r['virtual_decision_s'] for r in rows):.3f} s"),
        (f"peak traced memory at the largest size under {MEMORY_PER_AGENT_KIB} KiB per agent",
         all(r["memory_per_agent_kib"] < MEMORY_PER_AGENT_KIB for r in at_largest),
         ", ".join(f"{r['protocol']}/{r['agents']}: {r['memory_per_agent_kib']} KiB" for r in at_largest)),
    ]
    out = [{"criterion": c, "pass": bool(ok), "measured": m, "kind": "functional"} for c, ok, m in checks]
    for protocol, targets in DOC_TARGETS.items():
        for n, seconds in targets.items():
            match = [r for r in rows if r["protocol"] == protocol and r["agents"] == n]
            if match:
                out.append({"criterion": f"{protocol} with {n} agents under {seconds:g} s wall (scenario target)",
                            "pass": match[0]["wall_s"] < seconds, "measured": f"{match[0]['wall_s']} s",
                            "kind": "performance"})
    return out


def run(sizes: tuple[int, ...], seed: int = 0, protocols: tuple[str, ...] = PROTOCOLS,
        caps: dict[str, int] | None = None, progress: bool = False, runs: int = 1) -> dict[str, Any]:
    caps = CAPS if caps is None else caps
    rows = []
    for n in sizes:  # progressive loading: every protocol at one size before the next size
        for protocol in protocols:
            if n > caps.get(protocol, math.inf):
                continue
            rows.append(measure(protocol, n, seed, runs))
            if progress:
                print(line(rows[-1]), file=sys.stderr, flush=True)
    checks = criteria(rows)
    return {
        "scenario": "massive-scale", "seed": seed, "sizes": list(sizes), "caps": caps, "runs": runs,
        "network": {"latency": "lognormal median 20 ms, sigma 0.5, floor 2 ms",
                    "partition": f"first third of the agents cut off from 0 s until {HEAL} s"},
        "rows": rows, "scaling_exponent_wall": scaling(rows, "wall_s"),
        "scaling_exponent_messages": scaling(rows, "messages"),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "criteria": checks, "passed": all(c["pass"] for c in checks if c["kind"] == "functional"),
    }


HEADER = (f"{'protocol':<10} {'agents':>6} {'status':<9} {'agree':<5} {'virtual s':>9} {'wall s':>8} "
          f"{'messages':>9} {'msg/agent':>9} {'peak MiB':>8} {'KiB/agent':>9} {'repro':<5} verdicts")


def line(r: dict[str, Any]) -> str:
    verdicts = " ".join(f"{k}={v}" for k, v in r["verdicts"].items())
    return (f"{r['protocol']:<10} {r['agents']:>6} {r['status']:<9} {r['agreement']!s:<5} "
            f"{r['virtual_decision_s']:>9.3f} {r['wall_s']:>8.2f} {r['messages']:>9} "
            f"{r['messages_per_agent']:>9} {r['peak_memory_mib']:>8.2f} {r['memory_per_agent_kib']:>9} "
            f"{r['reproducible']!s:<5} {verdicts}")


def render(report: dict[str, Any]) -> str:
    lines = [HEADER, *(line(r) for r in report["rows"]), ""]
    lines.append(f"network: {report['network']['latency']}; partition: {report['network']['partition']}")
    lines.append(f"wall time ~ agents^k: {report['scaling_exponent_wall']}; "
                 f"messages ~ agents^k: {report['scaling_exponent_messages']}")
    lines.append(f"process max RSS: {report['max_rss_mib']} MiB")
    lines.append("success criteria:")
    for c in report["criteria"]:
        lines.append(f"  [{'PASS' if c['pass'] else 'FAIL'}] ({c['kind']}) {c['criterion']}"
                     + (f": {c['measured']}" if c["measured"] else ""))
    lines.append(f"overall (functional criteria): {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=500, help="largest size (1000 adds a 1000-agent step)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1, help="untraced runs per size; wall_s is their median")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only (for tests)")
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument("--progress", action="store_true", help="print each row to stderr as it finishes")
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else tuple(n for n in (*SIZES, 1000) if n <= args.max)
    if not sizes or args.runs < 1:
        parser.error("--max must be at least 10 and --runs at least 1")
    report = run(sizes, args.seed, tuple(args.protocols), progress=args.progress, runs=args.runs)
    print(render(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
