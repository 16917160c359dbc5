"""What the Dolev-Yao adversary costs: static vs dolev-yao state counts per protocol at its default size.

    python -m benchmarks.adversaries [--max-seconds 240] [--protocol NAME ...]

For every registered protocol (or the ones named), the standard check twice: with the static
adversary (what a Byzantine member can sign, in flight from the start) and with the Dolev-Yao
one (it also learns every message sent to it and sends what its protocol's ``adversary.derived``
builds from them). Each row: distinct states, depth, seconds, peak RSS, whether the search
completed within ``--max-seconds`` (an incomplete row is a lower bound, never "holds") and the
verdict. Adaptive's default has no Byzantine member, so its evidence configuration (n = 3, one
Byzantine member) is measured as well. Prints one JSON document; the machine's load is included.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

from mabeam.api.registry import entries, get
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.protocols.adaptive import AdaptiveCoordination, evidence_configuration


def _row(name: str, label: str, adversary: str, max_seconds: float,
         factory: Callable[[int, int], Any] | None = None, size: tuple[int, int] | None = None) -> dict[str, Any]:
    entry = get(name)
    agents, faulty = size if size is not None else (entry.default_agents, entry.default_faulty)
    model = build_model(entry, agents, faulty, factory=factory, adversary=adversary, max_seconds=max_seconds)
    result = check(model, entry.properties)
    s = result.stats
    return {"protocol": name, "configuration": label, "agents": agents, "faulty": faulty, "adversary": adversary,
            "complete": s.complete, "verdict": result.verdict, "distinct_states": s.distinct_states,
            "depth": s.depth, "seconds": round(s.seconds, 2), "peak_rss_mb": s.peak_rss_bytes >> 20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-seconds", type=float, default=240.0)
    parser.add_argument("--protocol", action="append", help="only these protocols (default: every one)")
    args = parser.parse_args(argv)
    names = args.protocol or sorted(entries())
    rows = []
    for name in names:
        for adversary in ("static", "dolev-yao"):
            rows.append(_row(name, "default", adversary, args.max_seconds))
        if name == "adaptive":
            for adversary in ("static", "dolev-yao"):
                rows.append(_row(name, "evidence", adversary, args.max_seconds, size=(3, 1),
                                 factory=lambda n, f: evidence_configuration(AdaptiveCoordination)))
    print(json.dumps({"benchmark": "adversaries", "load_average": os.getloadavg(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
