"""``mabeam demo``: model-check protocols, show a mutant caught, then run the same machines live."""

from __future__ import annotations

import contextlib
import io
import json
import time
from typing import Any

from ..api.registry import get
from ..api.session import start_byzantine_consensus
from ..api.verify import build_model
from ..checker import check
from ..checker.render import render_trace
from ..core.properties import Kind
from ..live.network import Latency, NetworkModel, Partition
from .runs import run_registered, summarize

#: (protocol, agents, faulty) checked exhaustively in the demo
CHECKS = (("majority", 3, 1), ("weighted", 4, 1), ("pbft", 4, 1))
#: protocols whose whole mutant list is fast enough for the demo
MUTANT_SHOWCASE = ("majority", "weighted")


def _heading(text: str) -> None:
    print(f"\n== {text} " + "=" * max(0, 70 - len(text)))


#: what the acts found, for ``mabeam demo --json``
RECORD: dict[str, list[dict[str, Any]]] = {}


def run_demo(quick: bool = False, as_json: bool = False) -> int:
    """The three acts of the demo; exit code 0 only if every check, mutant and live run came out right.

    With ``as_json`` the report text is kept off stdout and one JSON object with each act's
    results is printed instead.
    """
    RECORD.clear()
    started = time.perf_counter()
    text = io.StringIO()
    with contextlib.redirect_stdout(text) if as_json else contextlib.nullcontext():
        ok = _exhaustive_checks()
        ok &= _mutants_caught(quick)
        ok &= _live_runs(quick)
        _heading(f"{'all good' if ok else 'SOMETHING FAILED'} in {time.perf_counter() - started:.1f}s")
        print("next: `mabeam protocols`, `mabeam mutants`, `mabeam prove`, "
              "`python examples/byzantine_behavior_simulation.py`, `pytest` (see README)")
    if as_json:
        print(json.dumps({"ok": ok, "seconds": round(time.perf_counter() - started, 2), **RECORD}, default=str))
    return 0 if ok else 1


def _record(act: str, **row: Any) -> None:
    RECORD.setdefault(act, []).append(row)


def _exhaustive_checks() -> bool:
    ok = True
    _heading("1. Exhaustive model checking: every interleaving, every fault in budget")
    for name, agents, faulty in CHECKS:
        entry = get(name)
        model = build_model(entry, agents, faulty)
        result = check(model, entry.properties)
        s = result.stats
        faults = f"{faulty} {'crash' if entry.fault_model == 'crash' else 'Byzantine agent'}"
        print(f"{name}: {agents} agents, {faults}{'es' if faulty != 1 and entry.fault_model == 'crash' else ''}; "
              f"{s.distinct_states:,} distinct states, depth {s.depth}, {s.seconds:.2f}s, "
              f"{'full state space' if s.complete else 'bounded'}")
        _record("checks", protocol=name, agents=agents, faulty=faulty, verdict=result.verdict,
                distinct_states=s.distinct_states, seconds=round(s.seconds, 3),
                properties={r.property.id: r.status for r in result.results})
        for r in result.results:
            mark = "✓" if r.ok else ("·" if not r.checked else "✗")
            kind = {Kind.ALWAYS: "safety", Kind.STEP: "safety", Kind.SOMETIMES: "reachable",
                    Kind.EVENTUALLY: "liveness"}[r.property.kind]
            print(f"   {mark} {r.property.id:<7} {r.property.name:<32} ({kind}) {r.status}")
        ok &= result.ok
    return ok


def _mutants_caught(quick: bool) -> bool:
    ok = True
    _heading("2. Mutants: deliberately broken variants the checker must reject")
    for name in MUTANT_SHOWCASE:
        entry = get(name)
        for mutant in entry.mutants if not quick else entry.mutants[:2]:
            model = build_model(entry, mutant=mutant.name)
            result = check(model, entry.properties)
            caught = [r for r in result.failures() if r.property.id in mutant.breaks]
            ok &= bool(caught)
            first = caught[0] if caught else None
            how = (f"caught: {first.property.id} {first.property.name}"
                   + (f", {len(first.trace)}-step trace" if first.trace is not None else "")) if first else "MISSED"
            print(f"   {'✓' if caught else '✗'} {name} {mutant.name:<28} {how}")
            _record("mutants", protocol=name, mutant=mutant.name, caught=bool(caught),
                    property=first.property.id if first else None)
    example = get("majority").mutant("forget-decision")
    model = build_model("majority", mutant=example.name)
    failure = check(model, get("majority").properties).result_for("MAJ-S1")
    if failure.trace is not None:
        print(f"\n   shortest counterexample for majority/{example.name} ({example.description}):")
        print(render_trace(failure.trace, failure))

    return ok


def _live_runs(quick: bool) -> bool:
    ok = True
    _heading("3. The same state machines, live")
    agents = 60 if quick else 200
    lossy = NetworkModel(latency=Latency.lognormal(0.01, 0.5), loss=0.05, duplication=0.02,
                         partitions=(Partition([[f"a{i}" for i in range(agents // 4)],
                                                [f"a{i}" for i in range(agents // 4, agents)]],
                                               start=0.0, heal=0.5),))
    print(f"simulator: majority, {agents} agents, 10% crash, 5% loss, 2% duplication, "
          f"a 1/4 vs 3/4 partition healing at 0.5 s")
    run = run_registered("majority", agents, agents // 10, seed=7, network=lossy)
    print(summarize(run))
    _record("live", protocol="majority", driver="simulator", agents=agents, status=run.status,
            value=run.decided_value, violations=run.violations())
    ok &= run.status == "decided" and not run.violations()

    print("\nasyncio runtime: weighted (Byzantine-safe), 25 agents, 2 silent Byzantine agents")
    run = run_registered("weighted", 25, 2, seed=7, driver="runtime", timeout=20.0)
    print(summarize(run))
    _record("live", protocol="weighted", driver="runtime", agents=25, status=run.status,
            value=run.decided_value, violations=run.violations())
    ok &= run.status == "decided" and not run.violations()

    print("\nsimulator: PBFT, 7 agents (f=2), Ed25519 signatures; a5 equivocates, a6 forges signatures")
    run = start_byzantine_consensus("deploy-model-v2", 7, fault_tolerance=2,
                                    byzantine={"a5": "equivocating", "a6": "forging"}, seed=1)
    print(summarize(run))
    _record("live", protocol="pbft", driver="simulator", agents=7, status=run.status, value=run.decided_value,
            violations=run.violations(), view_changes=run.extras.get("view_changes"))
    print(f"  view changes: {run.extras.get('view_changes')}; evidence verified by a third party: "
          f"{run.extras.get('evidence_verified')}")
    ok &= run.status == "decided" and not run.violations()

    return ok
