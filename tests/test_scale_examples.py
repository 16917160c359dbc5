"""The scale scenarios in quick mode: massive scale, the protocol benchmark suite, the long-running stress.

These check what the reports say (every size decided with agreement, the JSON
shape, reproducibility by seed in the simulator, that the leak and drift checks
can fail), never how fast anything ran: figures come from running the scripts.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from benchmarks import protocols as bench
from mabeam.lab import workloads

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"scale_{name}", ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


massive = _load("massive_scale_test")
stress = _load("long_running_stress_test")


# ------------------------------------------------------------------ massive scale
def test_massive_quick_decides_every_size_with_agreement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "massive.json"
    report = massive.main(["--quick", "--json", str(out)])
    rows = report["rows"]
    assert {(r["protocol"], r["agents"]) for r in rows} == {
        (p, n) for p in massive.PROTOCOLS for n in massive.QUICK_SIZES}
    for r in rows:
        assert r["decided"] and r["agreement"] and r["status"] == "decided", r
        assert r["violated"] == [] and r["reproducible"], r
        assert r["messages"] > 0 and r["messages_per_agent"] == round(r["messages"] / r["agents"], 1)
        assert r["virtual_decision_s"] >= massive.HEAL  # the partition held the decision back until it healed
        assert r["peak_memory_mib"] > 0 and "holds" in r["verdicts"]
    assert report["passed"] and all(c["pass"] for c in report["criteria"] if c["kind"] == "functional")
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    text = capsys.readouterr().out
    assert "success criteria:" in text and "overall (functional criteria): PASS" in text


def _deterministic(report: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("protocol", "agents", "status", "value", "virtual_decision_s", "messages", "verdicts")
    return [{k: r[k] for k in keys} for r in report["rows"]]


def test_massive_simulation_is_reproducible_by_seed() -> None:
    one = massive.run((10,), seed=3, protocols=("majority", "pbft"), runs=2)  # the two runs must match too
    assert _deterministic(one) == _deterministic(massive.run((10,), seed=3, protocols=("majority", "pbft")))
    other = massive.run((10,), seed=4, protocols=("majority", "pbft"))
    assert [r["virtual_decision_s"] for r in other["rows"]] != [r["virtual_decision_s"] for r in one["rows"]]


def test_massive_criteria_fail_on_a_disagreeing_or_slow_row() -> None:
    good = massive.run((10,), seed=0, protocols=("majority",))["rows"]
    assert all(c["pass"] for c in massive.criteria(good) if c["kind"] == "functional")
    bad = [dict(good[0], agreement=False, virtual_decision_s=massive.HEAL + massive.AFTER_HEAL_BOUND + 1)]
    failed = [c["criterion"] for c in massive.criteria(bad) if not c["pass"]]
    assert len(failed) == 2 and any("agreement" in c for c in failed) and any("healed" in c for c in failed)


# ------------------------------------------------------------------ benchmark suite
def test_benchmark_quick_prints_one_json_object_covering_every_protocol(
        capsys: pytest.CaptureFixture[str]) -> None:
    report = bench.main(["--quick"])
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(report)) and set(printed) >= {"results", "machine", "notes"}
    rows = printed["results"]
    assert {(r["protocol"], r["driver"], r["agents"]) for r in rows} == {
        (p, d, n) for p in workloads.PROTOCOLS for d in workloads.DRIVERS for n in workloads.QUICK_SIZES}
    for r in rows:
        assert r["all_decided"] and r["agreement"] and r["runs"] == 3
        assert r["wall_p50_ms"] <= r["wall_p95_ms"] <= r["wall_p99_ms"]
        prefix = "virtual" if r["driver"] == "simulator" else "decision"
        assert r[f"{prefix}_p50_ms"] <= r[f"{prefix}_p95_ms"] <= r[f"{prefix}_p99_ms"]
        assert r["messages_per_decision"] > 0 and r["throughput_sessions_per_s"] > 0 and r["peak_memory_mib"] > 0


@pytest.mark.parametrize("protocol", workloads.PROTOCOLS)
def test_every_protocol_session_is_reproducible_in_the_simulator(protocol: str) -> None:
    network = workloads.SIM_NETWORK
    first = workloads.run_session(protocol, 4, seed=5, network=network)
    assert first.ok, first
    assert first.deterministic() == workloads.run_session(protocol, 4, seed=5, network=network).deterministic()


def test_percentile_is_nearest_rank_and_an_unknown_protocol_is_refused() -> None:
    assert [bench.percentile([4.0, 1.0, 3.0, 2.0], q) for q in (50, 95, 99)] == [2.0, 4.0, 4.0]
    with pytest.raises(ValueError, match="unknown protocol"):
        workloads.run_session("paxos", 4)


# ------------------------------------------------------------------ long-running stress
def test_stress_quick_reports_windows_and_safe_outcomes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "stress.json"
    report = stress.main(["--quick", "--json", str(out)])
    assert report["sessions"] == 60 and [w["sessions"] for w in report["windows"]] == list(range(10, 70, 10))
    assert report["unsafe_sessions"] == 0 and report["decided_rate"] == 1.0
    assert report["faulty_sessions"] > 0 and sum(sum(c.values()) for c in report["by_protocol"].values()) == 60
    assert set(report["by_protocol"]) == {p for p, _ in stress.MIX}
    criteria = {c["criterion"]: c["pass"] for c in report["criteria"]}
    assert len(criteria) == 4 and all(v for c, v in criteria.items() if "violated" in c or "decided" in c)
    assert report["passed"] == all(criteria.values())
    for w in report["windows"]:
        assert w["rss_mib"] > 0 and w["traced_mib"] > 0 and w["objects"] > 0 and w["latency_ratio_median"] > 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    assert "criteria:" in capsys.readouterr().out


def test_stress_simulation_is_reproducible_by_seed() -> None:
    one = stress.run(sessions=9, window=3, seed=1, runtime_share=0.0)
    assert one["digest"] == stress.run(sessions=9, window=3, seed=1, runtime_share=0.0)["digest"]
    assert one["digest"] != stress.run(sessions=9, window=3, seed=2, runtime_share=0.0)["digest"]


def _windows(traced: list[float], ratio: list[float]) -> list[dict[str, Any]]:
    return [{"sessions": 10 * (i + 1), "rss_mib": 50.0, "traced_mib": t, "objects": 1000}
            for i, t in enumerate(traced)] if len(traced) == len(ratio) else []


def test_stress_verdict_flags_a_leak_and_a_slowdown() -> None:
    outcome = workloads.run_session("majority", 4, seed=0)
    flat = [workloads.Outcome(**{**outcome.__dict__, "wall": 1.0}) for _ in range(40)]
    steady = stress.analyse(flat, _windows([1.0] * 4, [1.0] * 4), 10)
    assert steady["passed"] and steady["memory_slope_bytes_per_session"] == 0
    leaking = stress.analyse(flat, _windows([1.0, 1.0, 1.1, 1.2], [1.0] * 4), 10)  # +0.1 MiB per 10 sessions
    assert not leaking["passed"] and leaking["memory_slope_bytes_per_session"] > stress.MEMORY_SLOPE_LIMIT
    slowing = [workloads.Outcome(**{**outcome.__dict__, "wall": 1.0 + i // 10}) for i in range(40)]
    drift = stress.analyse(slowing, _windows([1.0] * 4, [1.0] * 4), 10)
    assert not drift["passed"] and drift["latency_drift"] > stress.LATENCY_DRIFT_LIMIT
