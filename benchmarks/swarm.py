"""Swarm search on PBFT sizes no exhaustive search finishes, against the Dolev-Yao adversary.

    python -m benchmarks.swarm coverage [--budget 600] [--searches 8] [--workers 2] [--json]
    python -m benchmarks.swarm mutants [--budget 600] [--searches 2] [--workers 2] [--adversary own|dolev-yao]
                                       [--mutant NAME] [--json]

``coverage``: PBFT at n = 7, f = 2 and n = 10, f = 3 (Byzantine replicas that
learn everything sent to them and send anything they can build), one swarm per
size within ``--budget`` seconds of wall time: distinct states covered (the union
of every search's fingerprints), states per second, peak memory, and whatever it
found (the correct protocol: nothing). ``mutants``: every PBFT mutant the
exhaustive n = 4 search catches, searched at n = 7, f = 2 (n = 8 for a mutant
whose bug shows only at n = 3f+2; a mutant's view bound one higher, since the
primaries of views 0 and 1 are then Byzantine) by a swarm
that stops at its first violation, once against the adversary of the mutant's
own n = 4 check (``own``: the like-for-like comparison) and once against the
Dolev-Yao adversary: whether it was caught, on which property, in how many
seconds and with a trace of how many steps. The machine's load is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from mabeam import check
from mabeam.api.registry import get
from mabeam.api.verify import build_model
from mabeam.checker.swarm import swarm_check

SIZES = ((7, 2), (10, 3))


def coverage(args: argparse.Namespace) -> dict[str, Any]:
    entry = get("pbft")
    rows = []
    for n, f in SIZES:
        model = build_model(entry, n, f, adversary="dolev-yao")
        result = swarm_check(model, entry.properties, searches=args.searches, budget=args.budget,
                             workers=args.workers, seed=args.seed)
        s = result.stats
        rows.append({"agents": n, "faulty": f, "adversary": "dolev-yao", "searches": args.searches,
                     "budget_seconds": args.budget, "seconds": round(s.seconds, 1),
                     "distinct_states": s.distinct_states, "transitions": s.states_generated,
                     "distinct_states_per_second": round(s.distinct_states / s.seconds, 1) if s.seconds else 0.0,
                     "peak_rss_bytes": s.peak_rss_bytes, "verdict": result.verdict,
                     "violated": sorted(r.property.id for r in result.failures() if r.status == "violated"),
                     "reached": sorted(r.property.id for r in result.results if r.status == "reached"),
                     "notes": result.notes})
        _say(args, f"n={n}, f={f}: {s.distinct_states:,} distinct states in {s.seconds:.0f} s")
    return {"benchmark": "swarm coverage", "rows": rows, "machine": _machine(args.load)}


def mutants(args: argparse.Namespace) -> dict[str, Any]:
    entry = get("pbft")
    rows = []
    for mutant in entry.mutants:
        if args.mutant and mutant.name not in args.mutant:
            continue
        small = check(build_model(entry, mutant=mutant.name), entry.properties)
        caught_small = sorted(r.property.id for r in small.failures() if r.status == "violated")
        if not caught_small:
            rows.append({"mutant": mutant.name, "exhaustive_n4": [], "note": "not a safety catch at n = 4"})
            continue
        # the same shape at f = 2: a mutant declared at n = 3f+2 (where its bug shows) is searched at n = 8
        agents = 7 if mutant.agents is None else 6 + mutant.agents - 3 * (mutant.faulty or 0)
        small_size = [mutant.agents or entry.default_agents,
                      entry.default_faulty if mutant.faulty is None else mutant.faulty]
        row: dict[str, Any] = {"mutant": mutant.name, "exhaustive_n4": caught_small, "small_size": small_size,
                               "agents": agents, "faulty": 2}
        # a view bound grows with f: at f = 2 the primaries of views 0 and 1 are Byzantine
        factory = mutant.with_options(max_view=mutant.options["max_view"] + 1) if "max_view" in mutant.options \
            else None
        for adversary in args.adversaries:
            extra = {"adversary": "dolev-yao"} if adversary == "dolev-yao" else {}
            model = build_model(entry, agents, 2, mutant=mutant.name, stop_on_violation=True, factory=factory,
                                **extra)
            started = time.perf_counter()
            swarm = swarm_check(model, entry.properties, searches=args.searches, budget=args.budget,
                                workers=args.workers, seed=args.seed)
            seconds = time.perf_counter() - started
            found = [r for r in swarm.failures() if r.status == "violated"]
            row[adversary] = {"swarm_n7": sorted(r.property.id for r in found), "caught": bool(found),
                              "same_property": bool({r.property.id for r in found} & set(caught_small)),
                              "seconds": round(seconds, 1),
                              "trace_steps": min((len(r.trace) for r in found), default=None),
                              "distinct_states": swarm.stats.distinct_states}
            _say(args, f"{mutant.name} ({adversary}): {'caught' if found else 'MISSED'} in {seconds:.0f} s")
        rows.append(row)
    counted = [r for r in rows if r["exhaustive_n4"]]
    return {"benchmark": "swarm mutants (f = 2: n = 7, or 8 where the bug needs n = 3f+2)",
            "budget_seconds": args.budget, "searches": args.searches, "workers": args.workers, "rows": rows,
            "caught": {a: sum(r[a]["caught"] for r in counted) for a in args.adversaries}, "of": len(counted),
            "caught_of_the_n4_catches": {a: sum(r[a]["caught"] for r in counted if r["small_size"] == [4, 1])
                                         for a in args.adversaries},
            "n4_catches": sum(r["small_size"] == [4, 1] for r in counted),
            "adversaries": {"own": "the adversary of the mutant's own small check, at f = 2",
                            "dolev-yao": "Byzantine replicas that send anything they can build from what they saw"},
            "machine": _machine(args.load)}


def _machine(before: tuple[float, float, float]) -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "python": sys.version.split()[0]}


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.quiet:
        print(f"[benchmarks.swarm] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["coverage", "mutants"])
    parser.add_argument("--budget", type=float, default=600.0, help="wall seconds per swarm (default 600)")
    parser.add_argument("--searches", type=int, default=None, help="searches per swarm (default: 8 / 2)")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mutant", action="append", help="mutants: only this one (repeatable; default: every one)")
    parser.add_argument("--adversary", action="append", choices=["own", "dolev-yao"], dest="adversaries",
                        help="mutants: against which adversary (repeatable; default: both)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    args.load = os.getloadavg()
    args.adversaries = args.adversaries or ["own", "dolev-yao"]
    if args.searches is None:
        args.searches = 8 if args.what == "coverage" else args.workers
    report = coverage(args) if args.what == "coverage" else mutants(args)
    print(json.dumps(report, indent=None if args.json else 1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
