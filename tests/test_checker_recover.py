"""The checker's crash-recover fault on toy protocols: what a restart keeps, sends and costs.

A crashed agent restarts (while ``max_recoveries`` lasts) from
``protocol.recover(agent, protocol.durable(agent, last state))``. These tests
pin the engine's side of that: the restarted component, the restart step's
effects compiled like any step's (sends, decisions, Dolev-Yao learning), the
budgets, replay, and that symmetry, partial-order reduction and the
partitioned search stay sound with it. PBFT's use of it is in
``tests/test_pbft_recovery.py``.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from test_reductions import assert_same_verdicts, orbit_count

from benchmarks.two_phase import PROPERTIES as TWO_PHASE_PROPERTIES
from benchmarks.two_phase import build as two_phase
from mabeam.checker import ActorModel, CheckConfig, check, replay_actions
from mabeam.checker.stateful import KINDS
from mabeam.core import (
    AgentId,
    Broadcast,
    ConfigurationError,
    Decide,
    Membership,
    Message,
    Protocol,
    SetTimer,
    Snapshot,
    Step,
    always,
    sometimes,
)


class Ping(Message, frozen=True, tag="toy.recover.ping"):
    count: int


class Restarted(Message, frozen=True, tag="toy.recover.restarted"):
    kept: int


class Node(msgspec.Struct, frozen=True):
    sent: int  # pings this node sent: durable
    heard: int  # pings it received: volatile


class Pinger(Protocol):
    """Each node pings everyone once on its timer; it keeps on stable storage how many it sent.

    Restarting, it announces what it kept, decides it and arms a different timer, so
    every part of a restart step is visible in the world.
    """

    name = "toy-recover"
    message_types = (Ping, Restarted)

    def on_start(self, agent: AgentId) -> Step:
        return Step(Node(0, 0), (SetTimer("ping", 1.0),))

    def on_message(self, agent: AgentId, state: Node, message: Message) -> Step:
        return Step(Node(state.sent, state.heard + 1))

    def on_timer(self, agent: AgentId, state: Node, timer: str) -> Step:
        if timer == "ping":
            ping = Ping(session=self.session, sender=agent, count=state.sent + 1)
            return Step(Node(state.sent + 1, state.heard), (Broadcast(ping),))
        return Step(state)

    def durable(self, agent: AgentId, state: Node) -> int:
        return state.sent

    def recover(self, agent: AgentId, durable: int) -> Step:
        told = Restarted(session=self.session, sender=agent, kept=durable)
        return Step(Node(durable, 0), (Broadcast(told), Decide(durable, "restart"), SetTimer("again", 1.0)))


@always("PING-S1", "a node never sends more than one ping (it keeps the count it sent)")
def one_ping(snap: Snapshot) -> bool:
    return all(s.sent <= 1 for s in snap.states.values() if s is not None)


@sometimes("PING-R1", "a node that had pinged restarts")
def restarted_after_ping(snap: Snapshot) -> bool:
    return any(d.instance == "restart" and d.value == 1 for d in snap.decisions)


def pinger(n: int = 2, **config: Any) -> ActorModel:
    return ActorModel(Pinger(Membership.of_size(n)), CheckConfig(**config))


def _take(model: ActorModel, world: Any, kind: str, agent: str) -> Any:
    return next(t for t in model.transitions(world) if t.action.kind == kind and t.action.agent == agent)


# ------------------------------------------------------------------ the budget
def test_a_restart_needs_a_crash_budget_and_a_valid_count() -> None:
    with pytest.raises(ConfigurationError, match="needs max_crashes"):
        CheckConfig(max_recoveries=1)
    for bad in (-1, True, 1.5):
        with pytest.raises(ConfigurationError):
            CheckConfig(max_crashes=1, max_recoveries=bad)  # type: ignore[arg-type]


def test_only_a_crashed_agent_restarts_and_only_while_the_budget_lasts() -> None:
    m = pinger(max_crashes=1, max_recoveries=1)
    world = m.initial()
    assert not any(t.action.kind == "recover" for t in m.transitions(world))
    down = _take(m, _take(m, world, "timer", "a1").world, "crash", "a1").world
    assert m.view(down).crashed == {"a1"} and m.view(down).recoveries == 1
    assert [t.action.agent for t in m.transitions(down) if t.action.kind == "recover"] == ["a1"]
    up = _take(m, down, "recover", "a1")
    assert up.fair and up.action.describe() == "a1 restarts from its durable state"
    view = m.view(up.world)
    assert view.crashed == frozenset() and view.budget == (0, 0, 0) and view.recoveries == 0
    assert not any(t.action.kind in ("crash", "recover") for t in m.transitions(up.world))


def test_a_restart_step_is_compiled_like_any_step() -> None:
    m = pinger(max_crashes=1, max_recoveries=1)
    world = _take(m, m.initial(), "timer", "a0").world  # a0 pings a1
    world = _take(m, world, "deliver", "a1").world  # a1 heard it: heard = 1 (volatile)
    world = _take(m, world, "crash", "a1").world
    assert m.view(world).timers[1] == frozenset()  # a crash disarms
    up = _take(m, world, "recover", "a1")
    view = m.view(up.world)
    assert view.nodes[1] == Node(0, 0) and view.timers[1] == frozenset({"again"})  # durable kept, volatile lost
    assert {(env.to, type(env.message)) for env, _count in view.network} >= {("a0", Restarted)}
    assert any(d.agent == "a1" and d.instance == "restart" for d in view.decisions)
    assert [type(e) for e in up.effects] == [Broadcast, Decide, SetTimer]


def test_messages_in_flight_to_an_agent_that_may_restart_stay_for_it() -> None:
    m = pinger(max_crashes=1, max_recoveries=1)
    world = _take(m, m.initial(), "timer", "a0").world  # a ping to a1 in flight
    down = _take(m, world, "crash", "a1").world
    assert any(env.to == "a1" for env, _count in m.view(down).network)
    up = _take(m, down, "recover", "a1").world
    heard = _take(m, up, "deliver", "a1").world  # delivered after the restart
    assert m.view(heard).nodes[1].heard == 1
    final = pinger(max_crashes=1)  # no restart left: the crash is for good and those messages go
    down = _take(final, _take(final, final.initial(), "timer", "a0").world, "crash", "a1").world
    assert not any(env.to == "a1" for env, _count in final.view(down).network)


def test_the_dolev_yao_adversary_learns_what_a_restart_step_tells_it() -> None:
    m = ActorModel(Pinger(Membership.of_size(3)), CheckConfig(byzantine=frozenset({"a2"}), adversary="dolev-yao",
                                                              max_crashes=1, max_recoveries=1))
    up = _take(m, _take(m, m.initial(), "crash", "a1").world, "recover", "a1").world
    learned = [m._messages[fp] for fp in m._faults[up[m.n + 2]][2]]
    assert [type(message) for message in learned] == [Restarted]  # a1 told a2 it restarted
    in_flight = m._networks[up[m.n]]
    to_a0 = [fp for fp, _count in in_flight if isinstance(m._envelope_of[fp].message, Restarted)
             and m._envelope_of[fp].to == "a0"]
    assert len(to_a0) == 2  # a1's own copy, and the replay the adversary may now send (injected)


def test_a_recover_step_replays_from_its_action_key() -> None:
    result = check(pinger(max_crashes=1, max_recoveries=1), [one_ping, restarted_after_ping])
    assert result.result_for("PING-S1").status == "holds"  # the count it sent survives the restart
    trace = result.result_for("PING-R1").trace
    assert trace is not None
    assert [s.action.kind for s in trace.steps[1:]] == ["timer", "crash", "recover"]  # type: ignore[union-attr]
    keys = [step["action"] for step in trace.to_json()["steps"]]
    replayed = replay_actions(pinger(max_crashes=1, max_recoveries=1), keys)
    assert [s.world for s in replayed.steps] == [s.world for s in trace.steps]


# ------------------------------------------------------------------ nothing changes without it
def test_without_a_recover_budget_crash_stop_is_unchanged() -> None:
    """Main's crash-stop counts before the port (measured there): 2,072 and 116,973 worlds."""
    duplicating = ActorModel(two_phase(3), CheckConfig(network="duplicating", max_crashes=1))
    multiset = ActorModel(two_phase(4), CheckConfig(network="multiset", max_crashes=2))
    assert check(duplicating, TWO_PHASE_PROPERTIES).stats.distinct_states == 2_072
    assert check(multiset, TWO_PHASE_PROPERTIES).stats.distinct_states == 116_973
    assert "recover" in KINDS  # the Hypothesis harness draws restarts like any other fault


# ------------------------------------------------------------------ reductions and partitions
def _two_phase(**config: Any) -> ActorModel:
    return ActorModel(two_phase(3), CheckConfig(network="duplicating", max_crashes=1, max_recoveries=1, **config))


def test_symmetry_with_restarts_stores_one_world_per_orbit() -> None:
    full = check(_two_phase(), TWO_PHASE_PROPERTIES)
    reduced = check(_two_phase(symmetry=True), TWO_PHASE_PROPERTIES)
    assert_same_verdicts(full, reduced)
    assert reduced.stats.distinct_states == orbit_count(_two_phase()) < full.stats.distinct_states


def test_partial_order_reduction_with_restarts_keeps_the_verdicts() -> None:
    full = check(_two_phase(), TWO_PHASE_PROPERTIES)
    reduced = check(_two_phase(por=True), TWO_PHASE_PROPERTIES)
    assert_same_verdicts(full, reduced)
    assert reduced.stats.distinct_states <= full.stats.distinct_states


def test_the_partitioned_search_ships_restart_budgets_and_agrees() -> None:
    one = check(_two_phase(), TWO_PHASE_PROPERTIES)
    two = check(_two_phase(), TWO_PHASE_PROPERTIES, workers=2)
    assert two.stats.distinct_states == one.stats.distinct_states
    assert {r.property.id: r.status for r in two.results} == {r.property.id: r.status for r in one.results}
