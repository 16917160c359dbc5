"""Byzantine attack patterns against PBFT: 10 agents, 3 of them Byzantine (f = 3).

Runs each pattern (silent, equivocating, delaying, forging, replaying, a
coordinated coalition, an adaptive attacker, and the mixed maximum-fault case)
in the seeded simulator, prints the per-pattern table and writes it as JSON.
Exits 0 when safety held in every run.

    python examples/byzantine_behavior_simulation.py --seed 0 --out byzantine_report.json
"""

from __future__ import annotations

import argparse
import json
import sys

from mabeam.lab import ATTACK_PATTERNS, run_attack_pattern

COLUMNS = ("pattern", "decided", "safe", "liveness", "promised", "detected", "suspected", "FP", "FN",
           "recovery", "duration", "msgs")


def _t(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="byzantine_report.json", help="where to write the JSON table")
    parser.add_argument("--json", action="store_true", help="print the JSON instead of the table")
    args = parser.parse_args(argv)
    rows = [run_attack_pattern(pattern, n=10, seed=args.seed)[0] for pattern in ATTACK_PATTERNS]
    report = {"n": 10, "byzantine": 3, "f": 3, "seed": args.seed, "rows": [r.to_json() for r in rows]}
    text = json.dumps(report, indent=2, sort_keys=True)
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    if args.json:
        print(text)
    else:
        print(" | ".join(COLUMNS))
        for r in rows:
            print(" | ".join((
                r.pattern, f"{r.honest_decided}/{r.honest}", "yes" if r.safety else "NO", r.liveness,
                "yes" if r.liveness_promised else "no", _t(r.detection_time), _t(r.suspicion_time),
                str(len(r.false_positives)), str(len(r.false_negatives)), _t(r.recovery_time),
                _t(r.duration), str(r.messages_sent))))
        print(f"wrote {args.out}")
    return 0 if all(r.safety and not r.false_positives for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
