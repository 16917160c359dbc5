"""``mabeam tla validate``: the code's runs validated against the TLA+ specs by TLC (trace validation).

    mabeam tla validate PROTOCOL --seed S [--faults] [--runtime] [--json]   # a simulator (or runtime) run
    mabeam tla validate --trace f.json [--property ID] [--json]  # a `mabeam check --trace-out` counterexample

The parser is in :mod:`.main`; the work in :mod:`mabeam.tla`. Exit codes: 0 every
trace accepted, 1 a trace rejected (the first unmatched step is printed), 2 bad
arguments or TLC failed (no verdict), 3 TLC ran out of time (incomplete).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .checking import BAD_ARGUMENTS, HOLDS, INCOMPLETE, VIOLATED, UsageError, read_trace_file


def validate(args: argparse.Namespace) -> int:
    from ..tla import validate_checker_file, validate_live, validate_simulation

    if (args.protocol is None) == (args.trace is None):
        raise UsageError("give a PROTOCOL (a seeded simulator run) or --trace FILE, not both")
    if args.trace is None and args.property is not None:
        raise UsageError("--property needs --trace FILE")
    if args.trace is not None and (args.runtime or args.faults):
        raise UsageError("--runtime and --faults choose the run of a PROTOCOL, not a --trace FILE")
    if args.max_seconds <= 0:
        raise UsageError(f"--max-seconds must be positive, got {args.max_seconds}")
    options: dict[str, Any] = {"workers": args.workers, "timeout": args.max_seconds,
                               "keep": Path(args.keep) if args.keep else None}
    if args.trace is not None:
        read_trace_file(args.trace)  # the shape `check --trace-out` writes, or a clear error
        verdicts = validate_checker_file(Path(args.trace), args.property, **options)
        runs: list[dict[str, Any]] = [{} for _ in verdicts]
    else:
        run_one = validate_live if args.runtime else validate_simulation
        verdict, run = run_one(args.protocol, args.seed, faults=args.faults, **options)
        verdicts, runs = [verdict], [dict(run.info)]
    if args.json:
        print(json.dumps({"verdicts": [{**v.to_json(), **({"run": r} if r else {})} for v, r in zip(verdicts, runs)],
                          "accepted": all(v.accepted for v in verdicts)}, default=str))
    else:
        for v, r in zip(verdicts, runs):
            print(v.summary())
            if r:
                print(f"  run: {r.get('events')} events, status {r.get('status')}, crashes {r.get('crashes')}, "
                      f"Byzantine {r.get('byzantine')}")
    kinds = {v.verdict for v in verdicts}
    if "error" in kinds:
        return BAD_ARGUMENTS
    if "rejected" in kinds:
        return VIOLATED
    return INCOMPLETE if "incomplete" in kinds else HOLDS
