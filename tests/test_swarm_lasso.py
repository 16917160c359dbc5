"""The swarm's liveness findings that never stop moving: fair cycles found around a fair walk
that goes round (mabeam.checker.lasso), re-checked on their replayed traces."""

from __future__ import annotations

import pytest
from test_checker import PingPong, TickOrFinish, model, someone_decides

from mabeam import check
from mabeam.api.registry import get
from mabeam.api.verify import build_model
from mabeam.checker.lasso import lasso_fails
from mabeam.checker.replay import replay_actions
from mabeam.checker.swarm import swarm_check
from mabeam.core import Membership


def ping_pong():
    return model(PingPong(Membership.of_size(2)), network="duplicating")


def test_swarm_reports_a_fair_cycle_as_a_lasso():
    m = ping_pong()
    swarm = swarm_check(m, [someone_decides], searches=3, budget=2, workers=1)
    verdict = swarm.result_for("TOY-L1")
    assert verdict.status == "violated", verdict.note
    trace = verdict.trace
    assert trace.loop_start is not None and "fair cycle" in verdict.note
    assert m.fingerprint(trace.steps[-1].world) == m.fingerprint(trace.steps[trace.loop_start].world)
    assert lasso_fails(m, someone_decides, trace, trace.loop_start)
    assert "forever (a fair cycle)" in trace.render(("a0", "a1"))


def test_swarm_does_not_report_an_unfair_cycle():
    # the exhaustive search proves it: the tick cycle leaves a fair "finish" enabled throughout
    assert check(model(TickOrFinish(Membership.of_size(2))), [someone_decides]).result_for("TOY-L1").status == "holds"
    swarm = swarm_check(model(TickOrFinish(Membership.of_size(2))), [someone_decides], searches=3, budget=2,
                        workers=1)
    assert swarm.result_for("TOY-L1").status == "incomplete"


def test_a_cycle_of_nothing_but_timers_is_fair_when_nothing_else_is_enabled():
    m = model(TickOrFinish(Membership.of_size(2), silent=True))
    swarm = swarm_check(m, [someone_decides], searches=3, budget=2, workers=1)
    verdict = swarm.result_for("TOY-L1")
    assert verdict.status == "violated" and verdict.trace.loop_start is not None


def test_a_finding_that_is_not_a_fair_lasso_is_refused():
    m = ping_pong()
    verdict = swarm_check(m, [someone_decides], searches=3, budget=2, workers=1).result_for("TOY-L1")
    trace, loop = verdict.trace, verdict.trace.loop_start
    keys = [s.action.key() for s in trace.steps[1:]]
    assert not lasso_fails(m, someone_decides, replay_actions(m, keys[:-1]), loop)  # the cycle does not close
    assert not lasso_fails(m, someone_decides, trace, len(trace.steps) - 1)  # no cycle at all
    for silent in (False, True):  # two ticks and back: fair only when no Finish waits to be delivered
        toy = model(TickOrFinish(Membership.of_size(2), silent=silent))
        tick = next(t for t in toy.transitions(toy.initial()) if t.action.kind == "timer")
        ticks = replay_actions(toy, [tick.action.key()] * 2)
        assert toy.fingerprint(ticks.steps[-1].world) == toy.fingerprint(ticks.steps[0].world)
        assert lasso_fails(toy, someone_decides, ticks, 0) is silent


@pytest.mark.slow
def test_a_lagging_replica_left_behind_is_found_at_seven_replicas():
    """no-catch-up, caught exhaustively at n = 4 against its lagging primary, is caught at n = 7,
    f = 2 against the same adversary by an isolated quiesce (benchmarks/swarm.py for Dolev-Yao)."""
    entry = get("pbft")
    m = entry.mutant("no-catch-up")
    small = check(build_model(entry, mutant=m.name), entry.properties)
    assert small.result_for("PBFT-L1").status == "violated"
    factory = m.with_options(max_view=m.options["max_view"] + 1)
    model7 = build_model(entry, 7, 2, mutant=m.name, stop_on_violation=True, factory=factory)
    swarm = swarm_check(model7, entry.properties, searches=2, budget=120, workers=2)
    assert swarm.result_for("PBFT-L1").status == "violated"
