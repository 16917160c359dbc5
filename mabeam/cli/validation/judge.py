"""From what the tasks measured to a verdict per criterion: pass, fail, or not measured (and why).

A criterion passes only on a figure that shows it; a task that did not run (no
examples directory, the time budget spent, a tool missing) or a sample too
small to show the claim is "not-measured", never "pass".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .criteria import CRITERIA, READY_AT, Criterion

PASS, FAIL, NOT_MEASURED = "pass", "fail", "not-measured"


@dataclass(frozen=True)
class Verdict:
    criterion: Criterion
    status: str
    figure: str

    def to_json(self) -> dict[str, Any]:
        c = self.criterion
        return {"id": c.id, "group": c.group, "criterion": c.quote, "source": c.source, "measure": c.measure,
                "status": self.status, "figure": self.figure}


def _missing(figures: dict[str, Any], *tasks: str) -> str | None:
    gone = [t for t in tasks if figures.get(t) in (None, {})]
    return f"not run: {', '.join(gone)}" if gone else None


def _example(figures: dict[str, Any], name: str) -> dict[str, Any] | None:
    return (figures.get("examples") or {}).get(name)


def _ok(flag: bool) -> str:
    return PASS if flag else FAIL


def _row(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in match.items())), None)


# ------------------------------------------------------------------ one judge per criterion
def f1(fig: dict[str, Any]) -> tuple[str, str]:
    attacks, parts = _example(fig, "byzantine_behavior_simulation"), _example(fig, "network_partition_testing")
    pbft = _row((fig.get("checks") or {}).get("rows", []), protocol="pbft")
    if not attacks or not attacks.get("report") or not parts or not parts.get("report") or pbft is None:
        return NOT_MEASURED, "needs the Byzantine and partition examples and the PBFT check"
    within = [r for r in attacks["report"]["rows"] if r.get("within_bound", True)]
    live = [r for r in within if r["safety"] and r["honest_decided"] == r["honest"]]
    safe_parts = [r for r in parts["report"]["rows"] if r["safety"]]
    ok = len(live) == len(within) and len(safe_parts) == len(parts["report"]["rows"]) and pbft["verdict"] == "holds"
    return _ok(ok), (f"{len(live)}/{len(within)} attack runs within the bound safe and decided; "
                     f"{len(safe_parts)}/{len(parts['report']['rows'])} partition scenarios safe; PBFT check "
                     f"{pbft['verdict']} ({pbft['distinct_states']:,} states)")


def f2(fig: dict[str, Any]) -> tuple[str, str]:
    fair = fig.get("fairness")
    weighted = _row((fig.get("checks") or {}).get("rows", []), protocol="weighted")
    if not fair or weighted is None:
        return NOT_MEASURED, _missing(fig, "fairness", "checks") or "no weighted check"
    ok = not fair["wrong"] and weighted["verdict"] == "holds"
    return _ok(ok), (f"{fair['runs'] - len(fair['wrong'])}/{fair['runs']} seeded weighted votes decided exactly the "
                     f"value with > 2/3 of the weight ({fair['decided']} decided, {fair['no_quorum']} without such a "
                     f"value, {fair['weight_beats_heads']} where weight beat head count); weighted check "
                     f"{weighted['verdict']}")


def f3(fig: dict[str, Any]) -> tuple[str, str]:
    conv = fig.get("convergence")
    if not conv:
        return NOT_MEASURED, "not run: convergence"
    good = [r for r in conv["rows"] if r["status"] == "decided" and r["agreement"] and not r["violations"]]
    return _ok(len(good) == len(conv["rows"])), (
        f"{len(good)}/{len(conv['rows'])} runs (n={conv['n']}, {conv['f']} Byzantine: {conv['attacks']}) decided "
        f"within epsilon {conv['epsilon']}, inside the honest range (live monitor)")


def f4(fig: dict[str, Any]) -> tuple[str, str]:
    eco = _example(fig, "full_ecosystem_integration")
    if not eco or not eco.get("report"):
        return NOT_MEASURED, "needs examples/full_ecosystem_integration.py"
    rep = eco["report"]
    kinds = sorted({s["protocol"] for s in rep["sessions"]})
    decided = sum(1 for s in rep["sessions"] if s["status"] == "decided")
    return _ok(eco["ok"] and rep["passed"]), (f"{decided}/{len(rep['sessions'])} sessions of {', '.join(kinds)} "
                                              f"decided with the services; {sum(rep['checks'].values())}/"
                                              f"{len(rep['checks'])} service checks passed")


def _latency(fig: dict[str, Any], protocol: str, targets: dict[int, float]) -> tuple[str, str]:
    rows = (fig.get("runtime_targets") or {}).get("rows")
    if not rows:
        return NOT_MEASURED, "not run: runtime targets"
    parts, ok = [], True
    for n, limit in targets.items():
        row = _row(rows, protocol=protocol, agents=n)
        if row is None:
            return NOT_MEASURED, f"no {protocol} run at {n} agents"
        ok &= row["ok"] and row["p95"] < limit
        parts.append(f"{n} agents: p95 {row['p95']:.3f} s (< {limit:g} s; {row['runs']} runs, all decided: "
                     f"{'yes' if row['ok'] else 'NO'})")
    return _ok(ok), "live asyncio runtime, " + "; ".join(parts)


def p3(fig: dict[str, Any]) -> tuple[str, str]:
    conv = fig.get("convergence")
    if not conv:
        return NOT_MEASURED, "not run: convergence"
    rounds = [r["rounds_to_90"] for r in conv["rows"]]
    per_round = [r["seconds_per_round"] for r in conv["rows"] if r["seconds_per_round"] is not None]
    if None in rounds or not per_round:
        return FAIL, f"some run never reached 90% convergence: {rounds}"
    ok = max(rounds) < 5 and max(per_round) < 30
    return _ok(ok), (f"rounds to 90% convergence: at most {max(rounds)} (< 5) over {len(rounds)} runs; slowest "
                     f"round {max(per_round):.3f} s (< 30 s) in the live runtime")


def p4(fig: dict[str, Any]) -> tuple[str, str]:
    rows = (fig.get("memory") or {}).get("rows")
    row = _row(rows or [], sessions=100)
    if row is None or "error" in row:
        return NOT_MEASURED, "no measurement of 100 concurrent sessions"
    ok = row["decided"] == 100 and row["rss_peak_mib"] < 1024
    return _ok(ok), (f"100 concurrent sessions ({row['decided']} decided): whole-process peak RSS "
                     f"{row['rss_peak_mib']:.0f} MiB (< 1024, interpreter and imports included), traced Python "
                     f"allocations {row['traced_peak_mib']:.1f} MiB")


def _stress(fig: dict[str, Any]) -> dict[str, Any] | None:
    run = _example(fig, "long_running_stress_test")
    return run["report"] if run and run.get("report") else None


def q1(fig: dict[str, Any]) -> tuple[str, str]:
    rep = _stress(fig)
    if rep is None:
        return NOT_MEASURED, "needs examples/long_running_stress_test.py"
    hours = rep["wall_s"] / 3600
    figure = (f"{rep['sessions']:,} sessions in {rep['wall_s'] / 60:.1f} min: traced memory grows "
              f"{rep['memory_slope_bytes_per_session']:.0f} B/session after warm-up (leak bound 512)")
    if hours < 24:
        return NOT_MEASURED, figure + "; a 24 h run is needed (mabeam validate --stress-minutes 1440)"
    return _ok(rep["memory_slope_bytes_per_session"] < 512), figure


def q2(fig: dict[str, Any]) -> tuple[str, str]:
    rep = _stress(fig)
    if rep is None:
        return NOT_MEASURED, "needs examples/long_running_stress_test.py"
    drift = rep["latency_drift"]
    return _ok(drift < 0.01), (f"normalised latency drift {drift:+.2%} from the first to the last window over "
                               f"{rep['wall_s'] / 60:.1f} min (< +1%)")


def q3(fig: dict[str, Any]) -> tuple[str, str]:
    rep = _stress(fig)
    if rep is None:
        return NOT_MEASURED, "needs examples/long_running_stress_test.py"
    figure = (f"{rep['decided_rate']:.4%} of {rep['sessions']:,} sessions decided ({rep['faulty_sessions']:,} with "
              f"faults within tolerance), {rep['unsafe_sessions']} unsafe")
    if rep["sessions"] < 1000:
        return NOT_MEASURED, figure + "; at least 1,000 sessions are needed to show 99.9%"
    return _ok(rep["decided_rate"] > 0.999 and rep["unsafe_sessions"] == 0), figure


def q4(fig: dict[str, Any]) -> tuple[str, str]:
    adaptive, parts = _example(fig, "adaptive_coordination"), _example(fig, "network_partition_testing")
    if not adaptive or not adaptive.get("report") or not parts or not parts.get("report"):
        return NOT_MEASURED, "needs the adaptive and partition examples"
    runs = adaptive["report"].values()
    concluded = [r for r in runs if r["status"] in ("decided", "no-decision", "partial") and r["status"] != "violated"]
    healed = [r for r in parts["report"]["rows"] if r["safety"] and r["time_to_decide_after_heal"] is not None]
    ok = adaptive["ok"] and len(concluded) == len(runs) and len(healed) == len(parts["report"]["rows"])
    return _ok(ok), (f"{len(concluded)}/{len(runs)} adaptive sessions concluded (decided or explicit no-decision, "
                     f"none unsafe); {len(healed)}/{len(parts['report']['rows'])} partition scenarios safe and "
                     "decided after healing")


def i1(fig: dict[str, Any]) -> tuple[str, str]:
    eco = _example(fig, "full_ecosystem_integration")
    if not eco or not eco.get("report"):
        return NOT_MEASURED, "needs examples/full_ecosystem_integration.py"
    checks = eco["report"]["checks"]
    failed = [name for name, ok in checks.items() if not ok]
    return _ok(not failed), (f"{len(checks) - len(failed)}/{len(checks)} service checks passed"
                             + (f"; failed: {'; '.join(failed)}" if failed else ""))


def i2(fig: dict[str, Any]) -> tuple[str, str]:
    tel = fig.get("telemetry")
    if not tel:
        return NOT_MEASURED, "not run: telemetry"
    return _ok(not tel["missing"]), (f"{len(tel['declared']) - len(tel['missing'])}/{len(tel['declared'])} declared "
                                     "events emitted across the PBFT view-change, adaptive fallback and weighted runs"
                                     + (f"; missing: {', '.join(tel['missing'])}" if tel["missing"] else ""))


def i3(fig: dict[str, Any]) -> tuple[str, str]:
    err, rec = fig.get("errors"), fig.get("recovery")
    if not err or not rec:
        return NOT_MEASURED, _missing(fig, "errors", "recovery") or ""
    cli_ok = sum(1 for r in err["cli"] if r["ok"])
    api_ok = sum(1 for r in err["api"] if r["ok"])
    recovered = rec["status"] == "decided" and not rec["violations"]
    ok = cli_ok == len(err["cli"]) and api_ok == len(err["api"]) and recovered
    return _ok(ok), (f"{cli_ok}/{len(err['cli'])} bad CLI inputs exit 2 with a message and no traceback; "
                     f"{api_ok}/{len(err['api'])} bad API calls raise a typed error; crashed PBFT primary: "
                     f"{rec['status']} after {rec['view_changes']} view change(s)")


def i4(fig: dict[str, Any]) -> tuple[str, str]:
    rows = (fig.get("consistency") or {}).get("rows")
    tcp = _example(fig, "distributed_tcp")
    if not rows:
        return NOT_MEASURED, "not run: consistency"
    same = sum(1 for r in rows if r["same"])
    figure = f"{same}/{len(rows)} protocols decide the same in the simulator and the runtime"
    if tcp is None:
        return NOT_MEASURED, figure + "; the TCP example did not run"
    return _ok(same == len(rows) and tcp["ok"]), figure + "; across OS processes over TCP: " + (
        "decided" if tcp["ok"] else f"FAILED (exit {tcp['exit_code']})")


def s1(fig: dict[str, Any]) -> tuple[str, str]:
    rows = (fig.get("scale") or {}).get("rows")
    if not rows:
        return NOT_MEASURED, "not run: scale"
    good = [r for r in rows if r["status"] == "decided" and r["agreement"] and not r["violated"]]
    sizes = sorted({r["agents"] for r in rows})
    return _ok(len(good) == len(rows)), (f"{len(good)}/{len(rows)} sessions at {', '.join(map(str, sizes))} agents "
                                         f"decided with agreement (slowest {max(r['wall_s'] for r in rows):.1f} s)")


def _passing_example(fig: dict[str, Any], name: str, limit: float | None = None) -> tuple[str, str]:
    run = _example(fig, name)
    if run is None:
        return NOT_MEASURED, f"needs examples/{name}.py"
    ok = run["ok"] and (limit is None or run["seconds"] < limit)
    return _ok(ok), (f"`{run['command']}` exit {run['exit_code']} in {run['seconds']:.1f} s"
                     + (f" (< {limit:g} s)" if limit else ""))


def s3(fig: dict[str, Any]) -> tuple[str, str]:
    run = _example(fig, "byzantine_behavior_simulation")
    if not run or not run.get("report"):
        return NOT_MEASURED, "needs examples/byzantine_behavior_simulation.py"
    rows = run["report"]["rows"]
    within = [r for r in rows if r.get("within_bound", True)]
    beyond = [r for r in rows if not r.get("within_bound", True)]
    safe = sum(1 for r in within if r["safety"])
    fp = sum(len(r["false_positives"]) for r in rows)
    detected = [r["pattern"] for r in within if r.get("detection_time") is not None]
    ok = run["ok"] and safe == len(within) and not fp and bool(beyond)
    return _ok(ok), (f"{safe}/{len(within)} patterns within the bound safe; detected with evidence: "
                     f"{', '.join(detected) or 'none'}; {fp} false positives; beyond the bound: "
                     + ("; ".join(f"{r['pattern']} with {len(r['byzantine'])} > f={r['f']}: safety "
                                  f"{'held' if r['safety'] else 'BROKEN'}, {r['honest_decided']}/{r['honest']} decided"
                                  for r in beyond) or "not run"))


def s4(fig: dict[str, Any]) -> tuple[str, str]:
    run = _example(fig, "network_partition_testing")
    if not run or not run.get("report"):
        return NOT_MEASURED, "needs examples/network_partition_testing.py"
    rows = run["report"]["rows"]
    good = [r for r in rows if r["safety"] and not r["minority_decisions"] and not r["rolled_back"]
            and r["time_to_decide_after_heal"] is not None]
    return _ok(len(good) == len(rows)), (f"{len(good)}/{len(rows)} scenarios: no minority decision, no rollback, "
                                         "decided after healing")


def v1(fig: dict[str, Any]) -> tuple[str, str]:
    checks, proofs, mutants = fig.get("checks"), fig.get("proofs"), fig.get("mutants")
    if not checks or not proofs or not mutants:
        return NOT_MEASURED, _missing(fig, "checks", "proofs", "mutants") or ""
    holds = [r for r in checks["rows"] if r["verdict"] == "holds"]
    failed_proofs = [f for r in proofs["rows"] for f in r["failed"]]
    caught = [r for r in mutants["rows"] if r["caught"]]
    ok = len(holds) == len(checks["rows"]) and not failed_proofs and len(caught) == len(mutants["rows"])
    return _ok(ok), (f"{len(holds)}/{len(checks['rows'])} protocol checks hold "
                     f"({sum(r['distinct_states'] for r in checks['rows']):,} states); "
                     f"{sum(r['proofs'] for r in proofs['rows']) - len(failed_proofs)}/"
                     f"{sum(r['proofs'] for r in proofs['rows'])} Z3 proofs; {len(caught)}/{len(mutants['rows'])} "
                     "mutants caught")


def c1(fig: dict[str, Any]) -> tuple[str, str]:
    q = fig.get("quality")
    if not q or "skipped" in q:
        return NOT_MEASURED, (q or {}).get("skipped", "not run: quality")
    if any(v["ok"] is None for v in q.values()):
        return NOT_MEASURED, "; ".join(f"{k}: {v['summary']}" for k, v in q.items())
    return _ok(all(v["ok"] for v in q.values())), "; ".join(f"{k}: {v['summary']}" for k, v in q.items())


def d1(fig: dict[str, Any]) -> tuple[str, str]:
    d = fig.get("docs")
    if not d:
        return NOT_MEASURED, "not run: docs"
    missing_pages = [p for p, there in d["pages"].items() if not there]
    figure = (f"{d['public_names'] - len(d['undocumented'])}/{d['public_names']} public names documented; pages: "
              + (", ".join(f"docs/{p}" for p in d["pages"]) or "no checkout"))
    if not d["pages"]:
        return NOT_MEASURED, figure
    return _ok(not d["undocumented"] and not missing_pages), figure + (
        f"; missing: {', '.join(missing_pages)}" if missing_pages else "")


JUDGES: dict[str, Callable[[dict[str, Any]], tuple[str, str]]] = {
    "F1": f1, "F2": f2, "F3": f3, "F4": f4,
    "P1": lambda fig: _latency(fig, "pbft", {13: 5.0, 100: 30.0}),
    "P2": lambda fig: _latency(fig, "weighted", {50: 2.0, 200: 10.0}),
    "P3": p3, "P4": p4, "Q1": q1, "Q2": q2, "Q3": q3, "Q4": q4, "I1": i1, "I2": i2, "I3": i3, "I4": i4,
    "S1": s1, "S2": lambda fig: _passing_example(fig, "hierarchical_ml_consensus", 120.0), "S3": s3, "S4": s4,
    "V1": v1, "C1": c1, "D1": d1,
}


def judge_all(figures: dict[str, Any]) -> list[Verdict]:
    verdicts = []
    for criterion in CRITERIA:
        try:
            status, figure = JUDGES[criterion.id](figures)
        except (KeyError, TypeError, ValueError) as exc:  # a figure of an unexpected shape: say so, do not pass
            status, figure = NOT_MEASURED, f"could not read the measurement ({type(exc).__name__}: {exc})"
        verdicts.append(Verdict(criterion, status, figure))
    return verdicts


def readiness(verdicts: list[Verdict]) -> dict[str, Any]:
    """The share of criteria passed (not measured counts as not passed), and the ones that did not."""
    passed = sum(1 for v in verdicts if v.status == PASS)
    score = passed / len(verdicts) if verdicts else 0.0
    return {"score": round(score, 4), "passed": passed, "total": len(verdicts), "ready": score >= READY_AT,
            "threshold": READY_AT, "failing": [v.criterion.id for v in verdicts if v.status == FAIL],
            "not_measured": [v.criterion.id for v in verdicts if v.status == NOT_MEASURED]}
