"""``mabeam simulate``: one seeded live run of a registered protocol."""

from __future__ import annotations

import argparse
import json

from ..api.session import Driver
from .runs import run_registered, summarize


def simulate(args: argparse.Namespace) -> int:
    driver: Driver = "runtime" if args.runtime else "simulator"
    result = run_registered(args.protocol, args.agents, args.faulty, seed=args.seed, loss=args.loss,
                            driver=driver, timeout=30.0 if args.runtime else None)
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(f"{args.protocol} in the {driver}: {args.agents} agents, faulty={args.faulty}, "
              f"loss={args.loss}, seed={args.seed}")
        print(summarize(result))
    return 0 if result.status == "decided" and not result.violations() else 1
