"""Byzantine attack patterns against PBFT: 10 agents, 3 of them Byzantine (f = 3), then one beyond the bound.

Runs each pattern (silent, equivocating, delaying, forging, replaying, a
coordinated coalition, an adaptive attacker, the mixed maximum-fault case and
a stealthy coalition) with f = 3 attackers in the seeded simulator, then the
beyond-the-bound case: the stealthy coalition with f + 1 = 4 attackers, where
PBFT promises nothing and the live monitor shows which guarantee breaks. Prints
the per-pattern table; ``--json PATH`` also writes it as JSON. Exits 0 when
safety held in every run within the bound, with no honest agent accused.

    python examples/byzantine_behavior_simulation.py --seed 0 --json /tmp/byzantine_report.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mabeam.lab import ATTACK_PATTERNS, run_attack_pattern

COLUMNS = ("pattern", "attackers", "decided", "safe", "liveness", "promised", "detected", "suspected", "FP", "FN",
           "recovery", "duration", "msgs")
#: the pattern replayed with f + 1 attackers, beyond what PBFT tolerates
BEYOND = "coalition-stealth"


def _t(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def rows(seed: int) -> list[dict[str, Any]]:
    within = [run_attack_pattern(pattern, n=10, seed=seed)[0] for pattern in ATTACK_PATTERNS]
    beyond, _ = run_attack_pattern(BEYOND, n=10, byzantine=4, seed=seed)
    return ([{**r.to_json(), "within_bound": True} for r in within]
            + [{**beyond.to_json(), "pattern": f"{BEYOND} (f+1)", "within_bound": False}])


def table(report: dict[str, Any]) -> str:
    lines = [" | ".join(COLUMNS)]
    for r in report["rows"]:
        lines.append(" | ".join((
            r["pattern"], f"{len(r['byzantine'])}/{r['n']}", f"{r['honest_decided']}/{r['honest']}",
            "yes" if r["safety"] else "NO", r["liveness"], "yes" if r["liveness_promised"] else "no",
            _t(r["detection_time"]), _t(r["suspicion_time"]), str(len(r["false_positives"])),
            str(len(r["false_negatives"])), _t(r["recovery_time"]), _t(r["duration"]), str(r["messages_sent"]))))
    beyond = [r for r in report["rows"] if not r["within_bound"]]
    for r in beyond:
        broken = ", ".join(r["violations"]) or "nothing"
        lines.append(f"beyond the bound ({len(r['byzantine'])} Byzantine > f={r['f']}): PBFT promises nothing; "
                     f"the live monitor found violated: {broken}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    args = parser.parse_args(argv)
    report = {"n": 10, "byzantine": 3, "f": 3, "seed": args.seed, "rows": rows(args.seed)}
    print(table(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(report, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.json}")
    within = [r for r in report["rows"] if r["within_bound"]]
    return 0 if all(r["safety"] and not r["false_positives"] for r in within) else 1


if __name__ == "__main__":
    sys.exit(main())
