"""The checker engine's promises beyond exploring: fingerprints that survive processes, a memory
budget and Ctrl-C that end a search with a partial report, stopping at the first violation with
the same shortest trace, and bounded results that never claim to hold."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.two_phase import PROPERTIES, build
from mabeam.api.registry import get
from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig, check
from mabeam.checker.memory import MemoryWatch, parse_size
from mabeam.core import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent

FINGERPRINTS = """
from benchmarks.two_phase import build
from mabeam.checker import ActorModel, CheckConfig
m = ActorModel(build(3), CheckConfig(network="duplicating"))
world = m.initial()
out = [m.fingerprint(world)]
for succ, fp, _a, _f in m.successors(world, m.fingerprint(world)):
    out.append(fp)
    out.append(m.fingerprint(succ))
print(out)
"""


def _fingerprints(seed: str) -> list[int]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", FINGERPRINTS], capture_output=True, text=True, check=True,
                          cwd=ROOT, env=env)
    return json.loads(done.stdout)


def test_fingerprints_do_not_depend_on_the_process_or_its_hash_seed() -> None:
    first, second = _fingerprints("1"), _fingerprints("4242")
    assert first == second and len(set(first)) > 2
    # and an incrementally computed successor fingerprint equals the one computed from scratch
    assert all(first[k] == first[k + 1] for k in range(1, len(first), 2))


def test_the_visited_set_of_a_check_is_the_same_in_every_process() -> None:
    script = ("from benchmarks.two_phase import build, PROPERTIES\n"
              "from mabeam.checker import ActorModel, CheckConfig\nfrom mabeam.checker.search import explore\n"
              "found = explore(ActorModel(build(4), CheckConfig(network='duplicating')), PROPERTIES)\n"
              "import hashlib; print(hashlib.sha256(found.store.sorted_fingerprints.tobytes()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "99")}
    assert len(digests) == 1


# ------------------------------------------------------------------ memory
def test_memory_sizes_parse_and_bad_ones_are_refused() -> None:
    assert parse_size("2G") == 2 << 30 and parse_size("512M") == 512 << 20 and parse_size("1.5GiB") == 3 << 29
    assert parse_size("4096") == 4096
    for bad in ("", "2X", "-1G", "0"):
        with pytest.raises(ConfigurationError):
            parse_size(bad)


def test_the_default_budget_is_a_fraction_of_what_is_available() -> None:
    watch = MemoryWatch(None)
    assert watch.budget > 0 and not watch.exceeded()


def test_a_memory_budget_stops_the_search_with_a_partial_report() -> None:
    model = build_model(get("iterative-categorical"), 4, 1, max_memory=260 << 20)
    result = check(model, get("iterative-categorical").properties)
    assert not result.stats.complete and "memory budget" in result.stats.bound
    assert result.verdict == "incomplete" and result.ok
    assert all(r.status in ("incomplete", "reached") for r in result.results)
    assert result.stats.peak_rss_bytes <= 400 << 20


def test_a_bounded_step_memo_is_emptied_between_levels_and_changes_no_verdict() -> None:
    """The step caches are bounded (``ActorModel.memo_entries``): past the bound they are emptied
    between two levels and recomputed, with the same states, verdicts and shortest traces."""
    entry = get("majority")
    plain = check(build_model(entry, mutant="forget-decision"), entry.properties)
    small = build_model(entry, mutant="forget-decision")
    small.memo_entries = 50
    trimmed = check(small, entry.properties)
    assert plain.stats.memo_trims == 0 and trimmed.stats.memo_trims > 0
    assert trimmed.stats.distinct_states == plain.stats.distinct_states
    assert [(r.property.id, r.status) for r in trimmed.results] == [(r.property.id, r.status) for r in plain.results]
    for r in plain.failures():
        again = trimmed.result_for(r.property.id)
        assert r.trace is not None and again.trace is not None
        assert [s.action.key() for s in again.trace.steps[1:]] == [s.action.key() for s in r.trace.steps[1:]]


def _mabeam(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "mabeam.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def test_the_cli_exits_incomplete_at_the_memory_budget() -> None:
    proc = _mabeam("check", "adaptive", "--agents", "4", "--faulty", "1", "--max-memory", "300M", "--json")
    out, _err = proc.communicate(timeout=600)
    data = json.loads(out)
    assert proc.returncode == 3 and data["verdict"] == "incomplete" and data["complete"] is False
    assert "memory budget" in data["stats"]["bound"] and data["exit_code"] == 3


def test_ctrl_c_gives_the_partial_report_not_a_traceback() -> None:
    proc = _mabeam("check", "adaptive", "--agents", "4", "--faulty", "1")
    deadline = time.monotonic() + 120
    seen = ""
    while "distinct states" not in seen and time.monotonic() < deadline:  # wait for the search to be under way
        line = proc.stderr.readline()  # type: ignore[union-attr]
        seen += line
        if not line and proc.poll() is not None:
            break
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, (out, err)
    assert "Traceback" not in err and "INCOMPLETE" in out and "interrupted" in out


# ------------------------------------------------------------------ stopping early
def test_stop_on_violation_returns_the_same_shortest_trace_after_fewer_states() -> None:
    entry = get("majority")
    full = check(build_model(entry, mutant="forget-decision"), entry.properties)
    early = check(build_model(entry, mutant="forget-decision", stop_on_violation=True), entry.properties)
    found = [r for r in early.results if r.status == "violated"]
    assert found and early.verdict == "violated" and not early.stats.complete
    for again in found:  # each violation it found is the full search's, trace for trace
        first = full.result_for(again.property.id)
        assert [s.action.key() for s in again.trace.steps[1:]] == [s.action.key() for s in first.trace.steps[1:]]
    shortest = min(len(r.trace) for r in full.failures() if r.trace is not None and r.trace.loop_start is None)
    assert all(len(r.trace) == shortest for r in found)
    assert early.stats.distinct_states < full.stats.distinct_states


def test_a_bounded_search_never_holds() -> None:
    result = check(ActorModel(build(5), CheckConfig(network="duplicating", max_states=1000)), PROPERTIES)
    assert result.verdict == "incomplete"
    assert {r.status for r in result.results} <= {"incomplete", "reached"}
