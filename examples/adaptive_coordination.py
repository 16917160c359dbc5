"""Adaptive coordination among 50 agents: Byzantine consensus first, falling back when it must.

Scenarios (deterministic by seed in the simulator; one also runs live on the asyncio runtime):

1. critical decision: no failures, the Byzantine stage decides;
2. gradual failures beyond f: crashes pile up, the Byzantine and weighted stages cannot reach
   their quorums, the session falls back to simple majority (crash-only guarantee);
3. urgent deadline: a slow network and a tight deadline force fallbacks and end in an explicit
   no-decision instead of hanging;
4. equivocation evidence: Byzantine agents sign conflicting votes; the fallback to majority is
   refused (explicit no-decision), unless the caller allows weaker protocols after evidence.

Run: ``python examples/adaptive_coordination.py [--seed N] [--json PATH] [--no-runtime]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mabeam.api.adaptive import AdaptiveResult, report, run_adaptive_coordination
from mabeam.core import Membership
from mabeam.live.network import Latency, NetworkModel

AGENTS = Membership.of_size(50).agents
#: expertise weights for the weighted stage: the first ten agents are experts
WEIGHTS = {a: (5 if i < 10 else 1) for i, a in enumerate(AGENTS)}
NETWORK = NetworkModel(latency=Latency.uniform(0.005, 0.03))


def split(first: str, count: int, second: str) -> dict[str, str]:
    return {a: (first if i < count else second) for i, a in enumerate(AGENTS)}


def scenarios() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("1. critical decision, no failures",
         dict(proposal_inputs=split("deploy", 46, "hold"), weights=WEIGHTS, deadline=3.0, network=NETWORK)),
        ("2. gradual failures beyond f (f=16 Byzantine-tolerant, 19 agents crash over time)",
         dict(proposal_inputs=split("A", 34, "B"), weights=WEIGHTS, deadline=3.0, network=NETWORK,
              # experts a5..a9 and 14 others fail gradually, from before the first vote to mid-session
              crashes={a: round(0.0 if i < 17 else 1.1 + 0.05 * (i - 17), 3)
                       for i, a in enumerate([*AGENTS[5:10], *AGENTS[36:50]])})),
        ("3. urgent deadline on a slow network",
         dict(proposal_inputs=split("A", 30, "B"), weights=WEIGHTS, deadline=0.25,
              network=NetworkModel(latency=Latency.uniform(0.02, 0.2)))),
        ("4a. equivocation evidence blocks the majority fallback",
         dict(proposal_inputs=split("A", 30, "B"), chain=("byzantine", "majority"), deadline=2.0,
              network=NETWORK, byzantine={a: "equivocate" for a in AGENTS[47:]}, equivocation=("A", "B"),
              exposed=AGENTS[:5])),
        ("4b. the same, with the caller allowing weaker protocols after evidence",
         dict(proposal_inputs=split("A", 30, "B"), chain=("byzantine", "majority"), deadline=2.0,
              network=NETWORK, byzantine={a: "equivocate" for a in AGENTS[47:]}, equivocation=("A", "B"),
              exposed=AGENTS[:5], allow_weaker_after_evidence=True)),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the results as JSON to this path")
    parser.add_argument("--no-runtime", action="store_true", help="skip the live asyncio runtime run")
    args = parser.parse_args(argv)
    results: dict[str, AdaptiveResult] = {}
    for title, options in scenarios():
        result = run_adaptive_coordination(seed=args.seed, **options)
        results[title] = result
        print(report(result, title))
        print()
    if not args.no_runtime:
        title, options = scenarios()[1]
        title = "live asyncio runtime: " + title
        options = {**options, "network": None}
        result = run_adaptive_coordination(driver="runtime", seed=args.seed, **options)
        results[title] = result
        print(report(result, title))
        print()
    violated = [t for t, r in results.items() if r.status == "violated"]
    print("properties monitored live in every run: ADAPT-S1..S5 (safety, at every decision), "
          "ADAPT-R1..R3 (reachability), ADAPT-L1 (judged at quiescence)")
    if args.json:
        args.json.write_text(json.dumps({t: r.to_json() for t, r in results.items()}, indent=2, default=str))
        print(f"wrote {args.json}")
    return 1 if violated else 0


if __name__ == "__main__":
    sys.exit(main())
