"""The model checker itself, on tiny toy protocols whose state spaces can be counted by hand.

Nothing here uses a real protocol: each toy isolates one promise of
:mod:`mabeam.checker` (shortest counterexamples, exact state counts, bounds,
fair and unfair cycles, stuttering, seeded walks, the fingerprint store,
configuration checks, fault budgets).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from mabeam.checker import ActorModel, CheckConfig, check, random_walks, replay_actions
from mabeam.core import (
    AgentId,
    CancelTimer,
    ConfigurationError,
    Decide,
    Defer,
    Kind,
    Membership,
    Message,
    Property,
    Protocol,
    Send,
    SetTimer,
    Snapshot,
    Step,
    always,
    eventually,
    sometimes,
)


# ------------------------------------------------------------------ toys
class Hello(Message, frozen=True, tag="toy.hello"):
    pass


class Flood(Protocol):
    """Everyone sends Hello to everyone once; a node's state is the set of senders it heard.

    With the multiset network each of the n(n-1) messages is independently
    pending or delivered, so there are exactly 2**(n*(n-1)) reachable worlds.
    """

    name = "toy-flood"
    message_types = (Hello,)

    def on_start(self, agent: AgentId) -> Step:
        hellos = tuple(Send(other, Hello(session=self.session, sender=agent))
                       for other in self.membership.others(agent))
        return Step(frozenset(), hellos)

    def on_message(self, agent: AgentId, state: frozenset[str], message: Message) -> Step:
        return Step(state | {message.sender})


@sometimes("FLOOD-R1", "everyone heard everyone")
def all_heard(snap: Snapshot) -> bool:
    return all(len(s) == snap.protocol.n - 1 for s in snap.states.values())


@eventually("FLOOD-L1", "everyone eventually hears everyone")
def all_heard_eventually(snap: Snapshot) -> bool:
    return all_heard.holds(snap)


class Hop(Message, frozen=True, tag="toy.hop"):
    hops: int


class Shortcut(Message, frozen=True, tag="toy.shortcut"):
    stage: int


class TwoRoutes(Protocol):
    """a0 starts a four-hop relay and a two-hop shortcut to a1; either route ends in 'bad'."""

    name = "toy-two-routes"
    message_types = (Hop, Shortcut)

    def on_start(self, agent: AgentId) -> Step:
        if agent != "a0":
            return Step("idle")
        return Step("idle", (Send("a1", Hop(session=self.session, sender=agent, hops=1)),
                             Send("a1", Shortcut(session=self.session, sender=agent, stage=1))))

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        other = "a1" if agent == "a0" else "a0"
        if isinstance(message, Hop):
            if message.hops >= 4:
                return Step("bad", (Decide("bad"),))
            return Step(state, (Send(other, Hop(session=self.session, sender=agent, hops=message.hops + 1)),))
        assert isinstance(message, Shortcut)
        if message.stage >= 2:
            return Step("bad", (Decide("bad"),))
        return Step(state, (Send(other, Shortcut(session=self.session, sender=agent, stage=2)),))


@always("TOY-S1", "nobody decides bad")
def never_bad(snap: Snapshot) -> bool:
    return all(d.value != "bad" for d in snap.decisions)


@eventually("TOY-L1", "someone decides")
def someone_decides(snap: Snapshot) -> bool:
    return bool(snap.decisions)


class Ball(Message, frozen=True, tag="toy.ball"):
    pass


class PingPong(Protocol):
    """Two agents bat a ball back and forth forever, flipping a bit each time; nobody decides."""

    name = "toy-ping-pong"
    message_types = (Ball,)

    def on_start(self, agent: AgentId) -> Step:
        first = (Send("a1", Ball(session=self.session, sender=agent)),) if agent == "a0" else ()
        return Step(0, first)

    def on_message(self, agent: AgentId, state: int, message: Message) -> Step:
        return Step(1 - state, (Send(message.sender, Ball(session=self.session, sender=agent)),))


class Finish(Message, frozen=True, tag="toy.finish"):
    pass


class TickOrFinish(Protocol):
    """a0 ticks a self-re-arming timer forever unless a1's Finish arrives, which decides.

    Ticking forever while Finish stays deliverable is an unfair run: weak fairness
    forces the delivery, so termination holds. With ``silent`` a1 never sends
    Finish, and the tick cycle is a genuine fair counterexample.
    """

    name = "toy-tick-or-finish"
    message_types = (Finish,)

    def __init__(self, membership: Membership, silent: bool = False) -> None:
        super().__init__(membership)
        self.silent = silent

    def on_start(self, agent: AgentId) -> Step:
        if agent == "a0":
            return Step(0, (SetTimer("tick", 1.0),))
        return Step(0, () if self.silent else (Send("a0", Finish(session=self.session, sender=agent)),))

    def on_timer(self, agent: AgentId, state: Any, timer: str) -> Step:
        return Step(1 - state, (SetTimer("tick", 1.0),))

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        return Step("done", (CancelTimer("tick"), Decide("done")))


class Greeting(Message, frozen=True, tag="toy.greeting"):
    pass


class WaitForTwo(Protocol):
    """a0 decides after greetings from both others, but only a1 ever greets: a deadlock."""

    name = "toy-wait-for-two"
    message_types = (Greeting,)

    def on_start(self, agent: AgentId) -> Step:
        greet = (Send("a0", Greeting(session=self.session, sender=agent)),) if agent == "a1" else ()
        return Step(frozenset(), greet)

    def on_message(self, agent: AgentId, state: frozenset[str], message: Message) -> Step:
        heard = state | {message.sender}
        return Step(heard, (Decide("go"),) if len(heard) == 2 else ())


def model(protocol: Protocol, **config: Any) -> ActorModel:
    return ActorModel(protocol, CheckConfig(**config))


def flood(n: int, **config: Any) -> ActorModel:
    return model(Flood(Membership.of_size(n)), **config)


# ------------------------------------------------------------ shortest traces
def test_bfs_reports_the_shortest_counterexample() -> None:
    result = check(model(TwoRoutes(Membership.of_size(2))), [never_bad])
    verdict = result.result_for("TOY-S1")
    assert verdict.status == "violated"
    assert len(verdict.trace) == 2  # the shortcut, not the four-hop relay
    assert [s.action.detail.message for s in verdict.trace.steps[1:]] == [
        Shortcut(session="s0", sender="a0", stage=1), Shortcut(session="s0", sender="a1", stage=2)]
    assert result.stats.depth >= 4  # the long route was explored too
    assert result.stats.complete


# ---------------------------------------------------------------- state counts
@pytest.mark.parametrize("n", [2, 3])
def test_distinct_states_match_a_hand_count(n: int) -> None:
    messages = n * (n - 1)
    result = check(flood(n), [all_heard])
    assert result.stats.distinct_states == 2 ** messages
    # each world with k pending messages has k successors: sum_k C(m,k) k = m 2^(m-1)
    assert result.stats.states_generated == 1 + messages * 2 ** (messages - 1)
    assert result.stats.depth == messages
    assert result.result_for("FLOOD-R1").status == "reached"


def test_duplicating_network_counts_node_states_only() -> None:
    # messages are never consumed, so a world is just each node's heard-set: (2**(n-1))**n
    result = check(flood(3, network="duplicating"), [all_heard])
    assert result.stats.distinct_states == (2 ** 2) ** 3


def test_fingerprint_store_is_compact() -> None:
    result = check(flood(3), [all_heard])
    assert 0 < result.stats.bytes_per_state <= 64


# ---------------------------------------------------------------------- bounds
def test_max_depth_bounds_the_search_and_skips_liveness() -> None:
    result = check(flood(3, max_depth=2), [all_heard, all_heard_eventually])
    assert not result.stats.complete and "depth 2" in result.stats.bound
    assert result.stats.distinct_states == 1 + 6 + 15  # C(6,0) + C(6,1) + C(6,2)
    assert result.result_for("FLOOD-L1").status == "incomplete"  # a bounded search judges no liveness
    assert result.result_for("FLOOD-R1").status == "incomplete"  # not reached so far is not unreachable
    assert result.verdict == "incomplete" and result.ok
    full = check(flood(3), [all_heard, all_heard_eventually])
    assert full.stats.complete and full.result_for("FLOOD-L1").status == "holds"


def test_max_states_bounds_the_search() -> None:
    result = check(flood(3, max_states=10), [all_heard_eventually])
    assert not result.stats.complete and "10 states" in result.stats.bound
    assert result.result_for("FLOOD-L1").status == "incomplete"


# -------------------------------------------------------------------- liveness
def test_fair_cycle_is_reported_as_a_lasso() -> None:
    result = check(model(PingPong(Membership.of_size(2)), network="duplicating"), [someone_decides])
    verdict = result.result_for("TOY-L1")
    assert verdict.status == "violated"
    trace = verdict.trace
    assert trace.loop_start is not None and trace.loop_start < len(trace)
    assert trace.steps[-1].world == trace.steps[trace.loop_start].world
    assert "forever" in trace.render(("a0", "a1"))


def test_unfair_cycle_is_not_reported() -> None:
    result = check(model(TickOrFinish(Membership.of_size(2))), [someone_decides])
    assert result.stats.complete
    assert result.result_for("TOY-L1").status == "holds"


def test_the_same_tick_cycle_is_fair_when_nothing_else_is_enabled() -> None:
    result = check(model(TickOrFinish(Membership.of_size(2), silent=True)), [someone_decides])
    verdict = result.result_for("TOY-L1")
    assert verdict.status == "violated" and verdict.trace.loop_start is not None
    assert {s.action.kind for s in verdict.trace.steps[1:]} == {"timer"}


def test_stuttering_deadlock_is_reported() -> None:
    result = check(model(WaitForTwo(Membership.of_size(3))), [someone_decides])
    verdict = result.result_for("TOY-L1")
    assert verdict.status == "violated"
    assert verdict.trace.loop_start is None  # the run ends: nothing fair is enabled
    assert len(verdict.trace) == 1
    last = verdict.trace.steps[-1].world
    checked = model(WaitForTwo(Membership.of_size(3)))
    replayed = replay_actions(checked, [s.action.key() for s in verdict.trace.steps[1:]])
    assert replayed.steps[-1].world == last  # worlds are content-addressed: the same in a fresh model
    assert not any(t.fair for t in checked.transitions(last))


def test_liveness_is_not_judged_without_fair_links() -> None:
    result = check(flood(2, drops=1), [all_heard_eventually])
    assert result.stats.complete
    verdict = result.result_for("FLOOD-L1")
    assert verdict.status == "not-checked" and "fairness" in verdict.note


# ---------------------------------------------------------------- random walks
def _walk_json(seed: int) -> str:
    result = random_walks(flood(3), [all_heard], seed=seed, walks=3, max_steps=8)
    return json.dumps(result.result_for("FLOOD-R1").trace.to_json())


def test_random_walks_are_deterministic_per_seed() -> None:
    assert _walk_json(7) == _walk_json(7)
    assert len({_walk_json(seed) for seed in range(6)}) > 1
    result = random_walks(flood(3), [all_heard, all_heard_eventually], seed=1, walks=2, max_steps=3)
    assert not result.stats.complete
    assert result.result_for("FLOOD-L1").status == "not-checked"


# --------------------------------------------------------------- configuration
@pytest.mark.parametrize("bad", [
    {"max_crashes": -1}, {"drops": -2}, {"duplicates": 1.5}, {"drops": "1"}, {"network": "lossy"},
    {"network": "duplicating", "drops": 1}, {"network": "duplicating", "duplicates": 1},
    {"drops": True}, {"duplicates": False}, {"max_crashes": True}, {"max_depth": True}, {"max_depth": -1},
    {"max_states": -5}, {"max_states": 2.0}, {"intruder": 1},
])
def test_check_config_rejects_bad_budgets(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        CheckConfig(**bad)


def test_check_config_accepts_zero_and_unbounded_budgets() -> None:
    config = CheckConfig(max_crashes=0, drops=0, duplicates=2, max_depth=None, max_states=0)
    assert (config.drops, config.duplicates, config.max_depth, config.max_states) == (0, 2, None, 0)


def test_byzantine_agents_must_be_members() -> None:
    with pytest.raises(ConfigurationError):
        model(Flood(Membership.of_size(2)), byzantine=frozenset({"zz"}))


# ------------------------------------------------------------------ budgets
def test_drop_budget() -> None:
    # each of the 2 messages is pending, delivered or dropped, at most one dropped: 3*3 - 1
    result = check(flood(2, drops=1), [all_heard])
    assert result.stats.distinct_states == 8
    assert not model(Flood(Membership.of_size(2)), drops=1).config.fair_links


def test_duplicate_budget() -> None:
    # unused budget: 2*2 worlds; used on one message: it has (unheard, 2 copies), (heard, 1), (heard, 0),
    # times the other message's 2 states, for either message: 2 * 3 * 2. Once everything is heard and
    # consumed the world no longer shows which message was duplicated: that one world is counted twice.
    result = check(flood(2, duplicates=1), [all_heard])
    assert result.stats.distinct_states == 4 + 2 * 3 * 2 - 1


def test_duplicate_budget_is_spent_once() -> None:
    m = flood(2, duplicates=1)
    world = m.initial()
    dup = next(t for t in m.transitions(world) if t.action.kind == "duplicate")
    assert m.view(dup.world).budget == (0, 0, 0)
    assert not any(t.action.kind == "duplicate" for t in m.transitions(dup.world))
    assert sum(count for _env, count in m.view(dup.world).network) == 3


def test_crash_budget_silences_the_agent() -> None:
    m = flood(2, max_crashes=1)
    crash = next(t for t in m.transitions(m.initial()) if t.action.kind == "crash" and t.action.agent == "a1")
    assert m.view(crash.world).crashed == {"a1"}
    assert all(env.to != "a1" for env, _count in m.view(crash.world).network)
    assert not any(t.action.kind == "crash" for t in m.transitions(crash.world))


# ------------------------------------------------------------------ deferral
class _Need(Message, frozen=True, tag="toy.need"):
    part: str


class _NeedsAThenB(Protocol):
    """a0 sends B then A; a1 can use B only after A: it defers B instead of losing it."""

    name = "toy-defer"
    message_types = (_Need,)

    def on_start(self, agent: str) -> Step:
        if agent == "a0":
            return Step("sent", (Send("a1", _Need(session=self.session, sender="a0", part="B")),
                                 Send("a1", _Need(session=self.session, sender="a0", part="A"))))
        return Step("")

    def on_message(self, agent: str, state: str, message: Message) -> Step:
        assert isinstance(message, _Need)
        if message.part == "B" and "A" not in state:
            return Step(state, (Defer(message),))
        state = state + message.part
        return Step(state, (Decide(state),) if state == "AB" else ())


def _got_both(snap: Snapshot) -> bool:
    return snap.states["a1"] == "AB"


def test_deferred_message_stays_in_flight_in_the_multiset_network() -> None:
    goal = Property("T-L", "a1 eventually has A then B", Kind.EVENTUALLY, _got_both)
    result = check(ActorModel(_NeedsAThenB(Membership.of_size(2)), CheckConfig()), [goal])
    assert result.result_for("T-L").status == "holds"
    assert result.stats.distinct_states == 3  # start, A received, AB (deferring B is a self-loop)


def test_a_property_that_does_not_apply_is_reported_not_checked_rather_than_judged() -> None:
    never = Property("T-R", "unreachable here", Kind.SOMETIMES, lambda snap: False,
                     applies_to=lambda protocol: protocol.n > 5)
    model = ActorModel(_NeedsAThenB(Membership.of_size(2)), CheckConfig())
    result = check(model, [never])
    assert result.result_for("T-R").status == "not-checked" and result.ok
    judged = check(model, [Property("T-R", "unreachable here", Kind.SOMETIMES, lambda snap: False)])
    assert judged.result_for("T-R").status == "unreached" and not judged.ok
