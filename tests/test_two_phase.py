"""The checker benchmark model: Lamport's TwoPhase.tla, its TLC state counts, invariants and mutants."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from benchmarks.two_phase import (  # noqa: E402
    MUTANTS,
    PROPERTIES,
    TLC_DISTINCT_STATES,
    TM,
    Commit,
    Prepared,
    TwoPhaseCommit,
    build,
)
from mabeam.checker import ActorModel, CheckConfig, check, replay_actions  # noqa: E402
from mabeam.core import ConfigurationError, Reject  # noqa: E402


def explore(protocol: TwoPhaseCommit):
    return check(ActorModel(protocol, CheckConfig(network="duplicating")), PROPERTIES)


@pytest.mark.parametrize("rms", [3, 5])
def test_distinct_states_match_tlc(rms: int) -> None:
    result = explore(build(rms))
    assert result.stats.complete
    assert result.stats.distinct_states == TLC_DISTINCT_STATES[rms]
    assert result.stats.bytes_per_state <= 64


@pytest.mark.slow
def test_distinct_states_match_tlc_seven_rms() -> None:
    result = explore(build(7))
    assert result.stats.distinct_states == TLC_DISTINCT_STATES[7] == 296_448
    assert result.ok


def test_invariants_hold_and_commit_is_reachable() -> None:
    result = explore(build(3))
    assert result.ok
    statuses = {r.property.id: r.status for r in result.results}
    assert statuses == {"TP-S1": "holds", "TP-S2": "holds", "TP-R1": "reached"}
    witness = result.result_for("TP-R1").trace
    assert witness is not None and any(step.action and step.action.kind == "timer" and
                                       step.action.detail == "commit" for step in witness.steps)


@pytest.mark.parametrize("name", sorted(MUTANTS))
def test_mutant_is_caught_with_a_counterexample(name: str) -> None:
    cls, breaks = MUTANTS[name]
    result = explore(build(3, cls))
    for property_id in breaks:
        verdict = result.result_for(property_id)
        assert verdict.status == "violated", property_id
        assert verdict.trace is not None
        fresh = ActorModel(build(3, cls), CheckConfig(network="duplicating"))
        replayed = replay_actions(fresh, [step.action.key() for step in verdict.trace.steps[1:]])
        final = fresh.snapshot(replayed.steps[-1].world)
        assert not verdict.property.holds(final)
    assert not result.ok


def test_commit_mutant_trace_ends_with_one_rm_committed_and_one_aborted() -> None:
    cls, _ = MUTANTS["commit-without-all-prepared"]
    trace = explore(build(3, cls)).result_for("TP-S1").trace
    assert trace is not None
    phases = [s.phase for agent, s in trace.snapshot().states.items() if agent != TM]
    assert "committed" in phases and "aborted" in phases


def test_rm_rejects_messages_it_must_not_act_on() -> None:
    protocol = build(2)
    state = protocol.start("rm0").state
    forged = protocol.receive("rm0", state, Commit(session="s0", sender="rm1"))
    assert forged.state is state and isinstance(forged.effects[0], Reject)
    misrouted = protocol.receive("rm0", state, Prepared(session="s0", sender="rm1"))
    assert misrouted.state is state and isinstance(misrouted.effects[0], Reject)


def test_rejects_bad_configuration() -> None:
    with pytest.raises(ConfigurationError):
        TwoPhaseCommit(0)


def test_benchmark_json_has_the_required_figures() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.checker", "two-phase", "--rms", "3",
         "--repeat", "1", "--baseline", "--json", "--quiet"],
        capture_output=True, text=True, timeout=120, check=True, cwd=ROOT)
    report = json.loads(completed.stdout)
    for key in ("distinct_states", "seconds", "states_per_second", "bytes_per_state", "states_generated",
                "depth", "peak_rss_bytes", "rss_bytes_per_state", "runs", "median_seconds", "ratio", "machine"):
        assert key in report, key
    assert report["distinct_states"] == 288 and report["matches_tlc"] is True
    assert report["bytes_per_state"] <= 64 and len(report["runs"]) == 1
    baseline = report["baseline"]
    assert {"seconds", "states_per_second", "peak_rss_bytes", "rss_bytes_per_state", "implementation"} <= set(
        baseline)
    assert baseline["distinct_states"] == report["distinct_states"]  # the direct search explores the same space
    assert report["ratio"] == round(report["median_seconds"] / baseline["median_seconds"], 3)
    assert baseline["rss_bytes_per_state"] > 0
