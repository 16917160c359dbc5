"""``mabeam tla validate``: the code's runs validated against the TLA+ specs by TLC (trace validation).

    mabeam tla validate PROTOCOL --seed S [--faults] [--json]   # a seeded simulator run
    mabeam tla validate --trace f.json [--property ID] [--json]  # a `mabeam check --trace-out` counterexample

Exit codes: 0 every trace accepted, 1 a trace rejected (the first unmatched step is
printed), 2 bad arguments, or TLC failed (no verdict).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ACCEPTED, REJECTED, FAILED = 0, 1, 2


def add_tla(sub: Any) -> None:
    """Register the ``tla`` command group on the main parser's subcommands."""
    tla = sub.add_parser("tla", help="TLA+ companions: validate the code's runs against the specs with TLC")
    verbs = tla.add_subparsers(dest="tla_command", required=True)
    p = verbs.add_parser("validate", help="check that a run of the code is a behaviour of its TLA+ spec")
    p.add_argument("protocol", nargs="?", help="validate a seeded simulator run of this protocol")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--faults", action="store_true",
                   help="with the faults of the cfg's fault model (crashes, or the Byzantine agents injecting)")
    p.add_argument("--trace", type=Path, help="validate the counterexamples of a `mabeam check --trace-out` file")
    p.add_argument("--property", help="with --trace: only this property's counterexample")
    p.add_argument("--keep", type=Path, help="also write the generated trace module and cfg into this directory")
    p.add_argument("--workers", type=int, default=1, help="TLC workers (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from ..core.errors import ConfigurationError
    from ..tla import validate_checker_file, validate_simulation

    if (args.protocol is None) == (args.trace is None):
        raise ConfigurationError("give a PROTOCOL (a seeded simulator run) or --trace FILE, not both")
    options = {"workers": args.workers, "keep": args.keep}
    if args.trace is not None:
        verdicts = validate_checker_file(args.trace, args.property, **options)
        runs: list[dict[str, Any]] = [{} for _ in verdicts]
    else:
        verdict, run = validate_simulation(args.protocol, args.seed, faults=args.faults, **options)
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
    if any(v.verdict == "error" for v in verdicts):
        return FAILED
    return ACCEPTED if all(v.accepted for v in verdicts) else REJECTED
