"""PBFT under network partitions: clean split, minority isolation, fragments, flapping links.

For each scenario: who decided while partitioned (and whether a side without a
quorum ever did, which would be a violation), whether decisions were rolled
back, and after healing how long the honest agents took to decide, with how
many messages, and whether they agree. Prints the table; ``--json PATH`` also
writes it as JSON. Exits 0 when safety held in every run.

    python examples/network_partition_testing.py --seed 0 --json /tmp/partition_report.json
"""

from __future__ import annotations

import argparse
import json
import sys

from mabeam.lab import PARTITION_SCENARIOS, run_partition_scenario

COLUMNS = ("scenario", "n", "groups", "quorum", "decided-while-split", "minority-decisions", "decided",
           "agree", "safe", "liveness", "after-heal", "msgs", "views")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    args = parser.parse_args(argv)
    rows = [run_partition_scenario(name, seed=args.seed)[0] for name in PARTITION_SCENARIOS]
    text = json.dumps({"seed": args.seed, "rows": [r.to_json() for r in rows]}, indent=2, sort_keys=True)
    print(" | ".join(COLUMNS))
    for r in rows:
        after = "-" if r.time_to_decide_after_heal is None else f"{r.time_to_decide_after_heal:.3f}"
        print(" | ".join((
            r.scenario, str(r.n), "/".join(str(len(g)) for g in r.groups), str(r.quorum),
            str(len(r.decided_during_partition)), str(len(r.minority_decisions)),
            f"{r.honest_decided}/{r.honest}", "yes" if r.agreement else "NO", "yes" if r.safety else "NO",
            r.liveness, after, str(r.messages_sent), str(r.view_changes))))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        print(f"wrote {args.json}")
    return 0 if all(r.safety for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
