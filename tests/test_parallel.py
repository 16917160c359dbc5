"""The partitioned search (local processes), its ownership and rebalancing, and swarm search.

The partitioned search must give the one-process search's distinct-state
counts, verdicts and (shortest) trace lengths; it must stop cleanly on its
budgets and never leave a process behind. Ray runs are in test_ray.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mabeam import ActorModel, CheckConfig, ConfigurationError, check
from mabeam.api.registry import all_mutants, builtin_entries, get
from mabeam.api.verify import build_model
from mabeam.checker.ownership import Ownership, choose_ownership
from mabeam.checker.parallel import _rebalance, coordinate
from mabeam.checker.partition import PartitionWorker
from mabeam.checker.swarm import minimise, swarm_check, swarm_tasks

ROOT = Path(__file__).resolve().parent.parent


def summary(result):
    return (result.stats.distinct_states,
            {r.property.id: (r.status, len(r.trace) if r.trace is not None else None) for r in result.results})


def same_as_one_process(name, workers=2, **build):
    entry = get(name)
    one = check(build_model(entry, **build), entry.properties)
    many = check(build_model(entry, **build), entry.properties, workers=workers)
    assert summary(many) == summary(one)
    return one, many


@pytest.mark.parametrize("name", ["majority", "weighted", "iterative-categorical"])
def test_two_workers_agree_with_one_process(name):
    _one, many = same_as_one_process(name)
    assert any("partitioned search over 2 local processes" in n for n in many.notes)


def test_three_workers_and_liveness_on_the_joined_graph():
    one, _many = same_as_one_process("majority", workers=3)
    assert any(r.property.kind.name == "EVENTUALLY" and r.status == "holds" for r in one.results)


@pytest.mark.parametrize("mutant", ["quorum-2f", "commit-without-prepared"])
def test_violations_are_shortest_and_replay(mutant):
    entry = get("pbft")
    one = check(build_model(entry, mutant=mutant), entry.properties)
    many = check(build_model(entry, mutant=mutant), entry.properties, workers=2)
    assert summary(many) == summary(one)
    failed = [r for r in many.failures() if r.status == "violated"]
    assert failed and all(r.trace is not None and len(r.trace) > 0 for r in failed)
    # the trace is a real execution: replaying its actions reaches a violating state
    r = failed[0]
    assert not r.property.holds(r.trace.snapshot()) or r.property.kind.name == "STEP"


def test_a_lumpy_key_is_rebalanced_and_still_exact():
    """Owning every world by the faults component puts all of them on one worker: the levels are
    rebalanced (the other worker expands half) and the counts stay exact."""
    entry = get("weighted")
    model = build_model(entry)
    n = model.n

    def start(_ownership, budget, keep_graph):
        from mabeam.checker.parallel import ProcessPool

        return ProcessPool(model, entry.properties, Ownership(2, (n + 2,)), memory_budget=budget,
                           max_seconds=None, keep_graph=keep_graph)

    lumpy = coordinate(model, entry.properties, 2, start)
    assert summary(lumpy) == summary(check(build_model(entry), entry.properties))
    assert lumpy.stats.worker_cpu[0]["expand"] > 0 and lumpy.stats.worker_cpu[1]["expand"] > 0


def test_rebalance_plan():
    assert _rebalance([1000, 1000]) is None
    assert _rebalance([10, 0]) is None  # too small to bother
    plan = _rebalance([9000, 1000, 2000])
    assert plan is not None
    moved_in = [sum(plan[j][k] for j in range(3)) for k in range(3)]
    moved_out = [sum(plan[j]) for j in range(3)]
    after = [s - o + i for s, o, i in zip([9000, 1000, 2000], moved_out, moved_in)]
    assert after == [4000, 4000, 4000]


def test_transport_free_workers_match_in_one_process():
    """Three PartitionWorkers driven by hand (no processes) store the same states as the search."""
    from benchmarks.two_phase import PROPERTIES, build

    model = ActorModel(build(4), CheckConfig(network="duplicating"))
    root = model.initial()
    fp = model.fingerprint(root)
    workers = [PartitionWorker(model, PROPERTIES, k, Ownership(3)) for k in range(3)]
    for w in workers:
        w.seed(fp)
    while True:
        expanded = [w.expand(True) for w in workers]
        reports = [w.merge([batches[k] for batches, _g in expanded]) for k, w in enumerate(workers)]
        if not sum(r.new for r in reports):
            break
    one = check(ActorModel(build(4), CheckConfig(network="duplicating")), PROPERTIES)
    assert sum(r.stored for r in reports) == one.stats.distinct_states


def test_ownership_prefers_a_local_key_on_two_phase():
    from benchmarks.two_phase import build

    model = ActorModel(build(7), CheckConfig(network="duplicating"))
    chosen = choose_ownership(model, 2)
    assert chosen.positions is not None  # some component keeps most steps local
    assert "sent away" in chosen.estimate


def test_refusals_and_bad_arguments():
    entry = get("majority")
    with pytest.raises(ConfigurationError, match="partial-order"):
        check(build_model(entry, por=True), entry.properties, workers=2)
    with pytest.raises(ConfigurationError, match="workers"):
        check(build_model(entry), entry.properties, workers=0)
    with pytest.raises(ConfigurationError, match="observers"):
        from mabeam.core.observer import Observer

        check(build_model(entry), entry.properties, workers=2, observers=[Observer()])


def test_bounds_and_budgets_make_it_incomplete():
    entry = get("pbft")
    bounded = check(build_model(entry, max_states=2000), entry.properties, workers=2)
    assert bounded.verdict == "incomplete" and not bounded.stats.complete
    tight = check(build_model(entry, max_memory=1 << 20), entry.properties, workers=2)
    assert tight.verdict == "incomplete" and "memory budget" in tight.stats.bound


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def test_ctrl_c_leaves_no_worker_behind():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "mabeam.cli", "check", "iterative", "--workers", "2", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = _children(proc.pid)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    out, _err = proc.communicate(timeout=60)
    assert proc.returncode == 3, out  # incomplete
    assert '"interrupted (Ctrl-C)"' in out or "interrupted" in out
    time.sleep(0.5)
    assert not [p for p in workers if Path(f"/proc/{p}").exists() and
                "zombie" not in Path(f"/proc/{p}/status").read_text().lower()]


def test_a_failing_worker_stops_every_worker():
    """A property that raises inside a worker: the error surfaces, no process is left."""
    from mabeam.core.properties import always

    coordinator = os.getpid()

    def broken(_snapshot):
        if os.getpid() != coordinator:  # only in the workers
            raise ValueError("deliberately broken predicate")
        return True

    entry = get("majority")
    properties = [*entry.properties, always("TEST-BROKEN", "raises in a worker")(broken)]
    before = set(_children(os.getpid()))
    with pytest.raises(RuntimeError, match="deliberately broken"):
        check(build_model(entry), properties, workers=2)
    time.sleep(0.3)
    assert set(_children(os.getpid())) <= before


# ------------------------------------------------------------------ swarm
def test_swarm_tasks_are_diversified():
    tasks = swarm_tasks(10, 5.0, seed=1)
    assert len({t.seed for t in tasks}) == 10
    assert {t.strategy for t in tasks} == {"walk", "prefix-bfs", "quiesce"}
    assert len({t.bias for t in tasks}) >= 4
    with pytest.raises(ConfigurationError):
        swarm_tasks(0, 5.0)


def test_swarm_finds_and_minimises_a_violation():
    entry = get("pbft")
    model = build_model(entry, mutant="quorum-2f")
    result = swarm_check(model, entry.properties, searches=2, budget=6, workers=2, seed=3)
    assert result.mode == "swarm" and result.verdict == "violated"
    exhaustive = check(build_model(entry, mutant="quorum-2f"), entry.properties)
    shortest = {r.property.id: len(r.trace) for r in exhaustive.failures() if r.trace}
    for r in (r for r in result.failures() if r.status == "violated"):
        assert r.property.id in shortest and len(r.trace) >= shortest[r.property.id]
        assert "minimised" in r.note
    assert result.stats.distinct_states > 0 and not result.stats.complete


def test_swarm_never_says_holds():
    entry = get("majority")
    result = swarm_check(build_model(entry), entry.properties, searches=2, budget=2, workers=2)
    assert result.verdict == "incomplete"
    assert all(r.status in ("incomplete", "reached", "not-checked") for r in result.results)


def test_minimise_removes_needless_steps():
    """A violating random walk is cut down to no more than its length and no less than the shortest."""
    from mabeam.core.rng import SeededRandom

    entry = get("pbft")
    model = build_model(entry, mutant="quorum-2f")
    shortest = {r.property.id: len(r.trace) for r in check(build_model(entry, mutant="quorum-2f"),
                                                            entry.properties).failures() if r.trace}
    target = next(p for p in entry.properties if p.id in shortest and p.kind.name == "ALWAYS")
    rng = SeededRandom(7)
    for _attempt in range(200):
        world, keys = model.initial(), []
        for _ in range(60):
            options = model.successors(world)
            if not options:
                break
            world, _fp, action, _fair = options[rng.randrange(len(options))]
            keys.append(action.key())
            if not target.holds(model.snapshot(world)):
                break
        if not target.holds(model.snapshot(world)):
            break
    else:
        pytest.fail("no random walk violated the property")
    trace = minimise(model, target, keys)
    assert shortest[target.id] <= len(trace) <= len(keys)
    assert not target.holds(trace.snapshot())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(builtin_entries()))
def test_every_protocol_two_workers_agree(name):
    same_as_one_process(name)


@pytest.mark.slow
def test_every_mutant_two_workers_agree():
    for m in all_mutants():
        entry = get(m.protocol)
        model = build_model(entry, mutant=m.name)
        one = check(model, entry.properties)
        many = check(build_model(entry, mutant=m.name), entry.properties, workers=2)
        if model.config.stop_on_violation:
            # one process stops at the violating world, the workers at the end of that level: the same
            # verdicts and shortest traces, after at least as many states
            assert summary(many)[1] == summary(one)[1], m.name
            assert many.stats.distinct_states >= one.stats.distinct_states, m.name
        else:
            assert summary(many) == summary(one), m.name


def seven_replicas(entry, mutant):
    """PBFT at n = 7, f = 2 for ``mutant``: a view bound grows with f (views 0 and 1 have Byzantine
    primaries), against the Dolev-Yao adversary, stopping at the first violation."""
    m = entry.mutant(mutant)
    factory = m.with_options(max_view=m.options["max_view"] + 1) if "max_view" in m.options else None
    return build_model(entry, 7, 2, mutant=mutant, adversary="dolev-yao", stop_on_violation=True, factory=factory)


def test_swarm_finds_a_liveness_failure_where_nothing_fair_is_left():
    entry = get("pbft")
    swarm = swarm_check(seven_replicas(entry, "never-suspects"), entry.properties, searches=2, budget=20,
                        workers=2)
    failed = {r.property.id: r for r in swarm.failures() if r.status == "violated"}
    assert "PBFT-L1" in failed and "stays in its last state" in failed["PBFT-L1"].note


@pytest.mark.slow
@pytest.mark.parametrize("mutant", ["quorum-2f", "commit-without-prepared", "no-equivocation-check",
                                    "new-view-without-proof", "sticky-primary", "lowers-view",
                                    "certificate-unverified", "duplicate-is-equivocation"])
def test_swarm_at_seven_replicas_catches_what_four_catch(mutant):
    """A mutant the exhaustive n = 4 search catches is caught by a short swarm at n = 7, f = 2,
    against the Dolev-Yao adversary (every mutant, with 10-minute budgets: benchmarks/swarm.py)."""
    entry = get("pbft")
    small = check(build_model(entry, mutant=mutant), entry.properties)
    caught = {r.property.id for r in small.failures() if r.status == "violated"}
    assert caught
    swarm = swarm_check(seven_replicas(entry, mutant), entry.properties, searches=2, budget=60, workers=2)
    assert swarm.verdict == "violated", mutant
    assert {r.property.id for r in swarm.failures() if r.status == "violated"} & caught
