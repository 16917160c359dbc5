"""The discrete-event simulator and the network model: scale, faults, determinism, monitoring."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from driver_toys import Forever, TimerToy, fired_in_order

from mabeam.core import (
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Decide,
    Defer,
    Membership,
    SeededRandom,
    Send,
)
from mabeam.live.monitor import PropertyViolation, properties_for
from mabeam.live.network import Latency, NetworkModel, Partition
from mabeam.live.strategy import HonestStrategy, Strategy
from mabeam.protocols.majority import ENTRY as MAJORITY
from mabeam.protocols.majority import MajorityVoting, Vote, _QuorumOffByOne
from mabeam.sim import Simulator, simulate

ROOT = Path(__file__).resolve().parents[1]


def majority(n: int, minority: str = "x", majority_value: str = "y") -> MajorityVoting:
    """Every third agent votes ``minority``; the rest (a strict majority) vote ``majority_value``."""
    return MajorityVoting(Membership.of_size(n),
                          {f"a{i}": (minority if i % 3 == 0 else majority_value) for i in range(n)})


def assert_decided_everywhere(result, value: str = "y") -> None:  # type: ignore[no-untyped-def]
    assert result.status == "decided", result.to_json(wall_clock=False)["properties"]
    assert result.decided_value == value and result.agreement
    correct = [a for a in result.decisions if a not in result.crashed]
    assert all(ds[0].value == value and len(ds) == 1 for ds in result.decisions.values())
    assert len(correct) >= 1 and not result.violations()
    assert {v["status"] for v in result.properties.values()} <= {"holds", "reached"}


# ------------------------------------------------------------------ scale + faults
def test_majority_200_agents_ideal_network_counts_every_message() -> None:
    result = simulate(majority(200), seed=1)
    assert_decided_everywhere(result)
    assert len(result.decisions) == 200
    assert result.messages.sent == result.messages.delivered == 200 * 199
    assert result.events == 200 + 200 * 199 and result.quiescent and result.rounds == 1
    assert set(result.properties) == {p.id for p in MAJORITY.properties}
    assert result.properties["MAJ-L1"]["status"] == "holds"


def test_majority_200_agents_loss_duplication_healing_partition_and_crashes_at_once() -> None:
    agents = Membership.of_size(200).agents
    crashes = {f"a{i}": (0.0 if i % 2 else 0.001) for i in range(1, 60, 3)}  # 20 crashes, all 'y' voters
    network = NetworkModel(latency=Latency.uniform(0.001, 0.01), loss=0.1, duplication=0.1,
                           retransmit_timeout=0.05,
                           partitions=(Partition([agents[:100], agents[100:]], start=0.0, heal=0.3),))
    result = simulate(majority(200), network, seed=2, crashes=crashes)
    assert_decided_everywhere(result)
    assert set(result.crashed) == set(crashes) and len(result.decisions) == 180
    m = result.messages
    assert m.retransmitted > 0 and m.duplicated > 0 and m.dropped > 0  # dropped: sent to the crashed
    assert min(d[0].at for d in result.decisions.values()) >= 0.3  # no side held a majority before


def test_loss_on_reliable_links_becomes_delay() -> None:
    network = NetworkModel(latency=Latency.uniform(0.001, 0.01), loss=0.2, retransmit_timeout=0.05)
    result = simulate(majority(60), network, seed=2)
    assert_decided_everywhere(result)
    assert result.messages.retransmitted > 0.1 * result.messages.sent
    assert result.messages.dropped == 0 and result.messages.delivered == result.messages.sent
    assert result.duration > 0.05  # some vote waited for at least one retransmission


def test_duplication_is_counted_and_harmless() -> None:
    network = NetworkModel(latency=Latency.exponential(0.005), duplication=0.3)
    result = simulate(majority(60), network, seed=3)
    assert_decided_everywhere(result)
    m = result.messages
    assert 0.25 * m.sent < m.duplicated < 0.35 * m.sent
    assert m.delivered == m.sent + m.duplicated


def test_partition_heals_then_everyone_decides() -> None:
    agents = Membership.of_size(60).agents
    split = Partition([agents[:30], agents[30:]], start=0.0, heal=0.5)  # no side holds a majority
    network = NetworkModel(latency=Latency.constant(0.002), partitions=(split,))
    result = simulate(majority(60), network, seed=4)
    assert_decided_everywhere(result)
    assert min(d[0].at for d in result.decisions.values()) >= 0.5  # nobody could decide before healing


def test_crashed_agents_stop_and_the_correct_ones_decide() -> None:
    crashes = {f"a{i}": (0.0 if i % 2 else 0.001) for i in range(1, 30, 3)}  # 10 crashes, all 'y' voters
    result = simulate(majority(60), NetworkModel(latency=Latency.uniform(0.001, 0.003)), seed=5,
                      crashes=crashes)
    assert_decided_everywhere(result)
    assert set(result.crashed) == set(crashes) and len(result.decisions) == 50
    never_started = sum(1 for a, at in crashes.items() if at == 0.0)
    assert result.messages.sent == (60 - never_started) * 59
    assert result.messages.dropped > 0  # votes addressed to crashed agents


def test_unreliable_links_lose_messages_for_good() -> None:
    network = NetworkModel(loss=0.3, reliable_links=False)
    result = simulate(majority(30), network, seed=6)
    m = result.messages
    assert m.retransmitted == 0 and m.dropped > 0 and m.delivered + m.dropped == m.sent
    assert result.properties["MAJ-L1"]["status"] == "not-checked"  # an unfair network judges no liveness


def test_permanent_partition_dropped_on_unreliable_links_blocks_the_minority() -> None:
    agents = Membership.of_size(9).agents
    network = NetworkModel(partitions=(Partition([agents[:3], agents[3:]]),), reliable_links=False)
    protocol = MajorityVoting(Membership(agents), {a: "v" for a in agents})
    result = simulate(protocol, network, seed=0)
    assert set(result.decisions) == set(agents[3:])  # 6 of 9 is a majority; 3 is not
    assert result.status == "no-decision" and result.quiescent


# ------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_result_and_event_log() -> None:
    network = NetworkModel(latency=Latency.lognormal(0.003, 0.8), loss=0.1, duplication=0.1,
                           retransmit_timeout=0.02)
    runs = [simulate(majority(40), network, seed=11, record_log=True, crashes={"a4": 0.002})
            for _ in range(2)]
    assert runs[0].to_json_text(wall_clock=False) == runs[1].to_json_text(wall_clock=False)
    assert runs[0].log == runs[1].log and len(runs[0].log) == runs[0].events
    other = simulate(majority(40), network, seed=12, record_log=True, crashes={"a4": 0.002})
    assert other.log != runs[0].log
    assert other.decisions != runs[0].decisions  # same values, different timings
    assert other.decided_value == runs[0].decided_value == "y"


def test_ties_in_time_are_broken_by_sequence_not_identity() -> None:
    result = simulate(majority(5), seed=0, record_log=True)  # constant latency: every delivery ties
    times_and_seqs = [(t, seq) for t, seq, *_ in result.log]
    assert times_and_seqs == sorted(times_and_seqs)
    delivered_to = [agent for _, _, kind, agent, _ in result.log if kind == "deliver"]
    assert delivered_to[:4] == ["a1", "a2", "a3", "a4"]  # a0's broadcast, in send order


@pytest.mark.parametrize("bounds", [{}, {"max_events": 333}, {"stop_when_decided": True}])
def test_broadcast_fan_out_shortcut_is_exactly_per_message_delivery(bounds: dict) -> None:
    """An ideal network queues one entry per broadcast; a never-active partition forces one per message."""
    fast = simulate(majority(25), NetworkModel(latency=Latency.constant(0.004)), seed=3, record_log=True,
                    crashes={"a7": 0.0}, monitor="decision", **bounds)
    dormant = Partition([{"a0"}, {"a1"}], start=1e9, heal=2e9)
    per_message = NetworkModel(latency=Latency.constant(0.004), partitions=(dormant,))
    slow = simulate(majority(25), per_message, seed=3,
                    record_log=True, crashes={"a7": 0.0}, monitor="decision", **bounds)
    assert [(t, kind, agent, what) for t, _, kind, agent, what in fast.log] == \
        [(t, kind, agent, what) for t, _, kind, agent, what in slow.log]
    assert fast.to_json_text(wall_clock=False) == slow.to_json_text(wall_clock=False)
    if bounds:
        assert not fast.quiescent and fast.events < 25 + 24 * 24


# ------------------------------------------------------------------ timers
def test_timer_cancel_and_rearm_never_fire_stale() -> None:
    result = simulate(TimerToy(agents=2), seed=0, record_log=True, properties=[fired_in_order])
    fired = [(t, agent, detail.split("#")[0]) for t, _, kind, agent, detail in result.log if kind == "timer"]
    assert [(t, name) for t, agent, name in fired if agent == "a0"] == [(0.5, "u"), (0.7, "x"), (2.5, "t")]
    assert result.status == "decided" and result.duration == 2.5
    assert result.properties["TOY-S1"]["status"] == "holds"


def test_simulator_deadline_stops_a_run_that_never_ends() -> None:
    result = simulate(Forever(agents=3, period=0.01), seed=0, until=1.0)
    assert result.timed_out and not result.quiescent and result.status == "no-decision"
    assert 250 <= result.events <= 310 and result.duration <= 1.0


# ------------------------------------------------------------------ Byzantine + rejects
class Troublemaker(Strategy):
    """Sends a wrong-session vote, a vote under a victim's name, a vote to a non-member, and equivocates."""

    def __init__(self, agent: str, session: str = "s0") -> None:
        super().__init__(agent)
        self.session = session

    def on_start(self):  # type: ignore[no-untyped-def]
        me, s = self.agent, self.session
        return (Broadcast(Vote(session="elsewhere", sender=me, value="x")),
                Broadcast(Vote(session=s, sender="a1", value="x")),
                Send("outsider", Vote(session=s, sender=me, value="x")),
                Broadcast(Vote(session=s, sender=me, value="x")),
                Broadcast(Vote(session=s, sender=me, value="y")))


def test_rejects_are_counted_impersonation_dropped_equivocation_reported() -> None:
    protocol = majority(30)
    result = simulate(protocol, NetworkModel(latency=Latency.uniform(0.001, 0.002)), seed=7,
                      byzantine={"a29": Troublemaker("a29")})
    assert result.rejected == {"wrong-session": 29, "impersonation": 1, "unknown-recipient": 1}
    assert result.byzantine == ("a29",) and "a29" not in result.decisions
    assert result.status == "decided" and result.decided_value == "y"
    assert result.evidence and {e.kind for e in result.evidence} == {"equivocation"}
    assert {e.against for e in result.evidence} == {"a29"}


def test_honest_strategy_matches_the_honest_node() -> None:
    protocol = majority(20)
    plain = simulate(protocol, seed=8)
    wrapped = simulate(protocol, seed=8, byzantine={"a5": HonestStrategy("a5", protocol)})
    assert wrapped.messages == plain.messages
    assert wrapped.decisions == plain.decisions  # the strategy decides too (recorded, not trusted)


# ------------------------------------------------------------------ live monitor
def disagreeing_mutant() -> MajorityVoting:
    return _QuorumOffByOne(Membership.of_size(4), {"a0": "x", "a1": "x", "a2": "y", "a3": "y"})


def test_monitor_records_a_violation_with_its_property_id() -> None:
    result = simulate(disagreeing_mutant(), NetworkModel(latency=Latency.uniform(0.001, 0.01)), seed=1,
                      monitor="decision")
    assert result.status == "violated"
    assert "MAJ-S2" in result.violations()
    verdict = result.properties["MAJ-S2"]
    assert verdict["at"] is not None and verdict["event"] is not None


def test_monitor_can_raise_on_violation() -> None:
    with pytest.raises(PropertyViolation, match="MAJ-S2"):
        simulate(disagreeing_mutant(), seed=1, raise_on_violation=True)


def test_sparse_monitoring_checks_logarithmically_often_at_scale() -> None:
    network = NetworkModel(latency=Latency.uniform(0.001, 0.01))
    result = simulate(majority(120), network, seed=9)  # auto -> sparse beyond 64 agents
    checks = result.properties["MAJ-S1"]["checks"]
    assert 2 <= checks <= math.log2(120) + 2
    dense = simulate(majority(30), network, seed=9)  # auto -> every decision
    assert dense.properties["MAJ-S1"]["checks"] >= 30


def test_properties_come_from_the_protocol_module() -> None:
    assert properties_for(majority(3)) == MAJORITY.properties
    assert properties_for(disagreeing_mutant()) == MAJORITY.properties


# ------------------------------------------------------------------ configuration
@pytest.mark.parametrize("make", [
    lambda: Latency.constant(-0.1),
    lambda: Latency.uniform(0.5, 0.1),
    lambda: Latency.exponential(float("nan")),
    lambda: Latency("gaussian", 0.1),
    lambda: NetworkModel(loss=1.5),
    lambda: NetworkModel(loss=float("nan")),
    lambda: NetworkModel(duplication=-0.1),
    lambda: NetworkModel(loss=1.0),  # reliable links would retransmit forever
    lambda: NetworkModel(retransmit_timeout=float("inf")),
    lambda: NetworkModel(latency=0.1),
    lambda: Partition([{"a0", "a1"}, {"a1", "a2"}]),
    lambda: Partition([{"a0"}]),
    lambda: Partition([{"a0"}, {"a1"}], start=2.0, heal=1.0),
    lambda: Partition([{"a0"}, {"a1"}], start=float("nan")),
    lambda: Simulator(majority(3), NetworkModel(partitions=(Partition([{"a0"}, {"zz"}]),))),
    lambda: Simulator(majority(3), crashes={"a0": -1.0}),
    lambda: Simulator(majority(3), monitor="often"),
    lambda: Simulator(majority(3), byzantine={"a0": Strategy("a1")}),
])
def test_invalid_configurations_raise_configuration_error(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError):
        make()


def test_route_is_deterministic_and_holds_messages_across_a_partition() -> None:
    network = NetworkModel(latency=Latency.uniform(0.01, 0.02), loss=0.5, duplication=0.5,
                           partitions=(Partition([{"a0"}, {"a1"}], start=0.0, heal=3.0),))
    first = [network.route("a0", "a1", 1.0, rng) for rng in [SeededRandom(1)] for _ in range(50)]
    again = [network.route("a0", "a1", 1.0, rng) for rng in [SeededRandom(1)] for _ in range(50)]
    assert first == again
    arrivals = [t for r in first for t in r.arrivals]
    assert len(arrivals) == 50 + sum(r.duplicated for r in first)  # reliable: every copy arrives
    assert min(arrivals) >= 3.01  # held until the partition healed
    assert network.route("a0", "a2", 1.0, SeededRandom(1)).arrivals  # a2 is in no group


# ------------------------------------------------------------------ layering
# ------------------------------------------------------------------ Defer
from defer_toys import Churn, InOrder  # noqa: E402


def test_deferred_messages_are_redelivered_in_order_after_a_state_change() -> None:
    result = simulate(InOrder(parts=3), seed=0, record_log=True)
    assert result.status == "decided" and result.decisions["a0"][0].value == "done"
    # parts 2 and 1 arrive first and are deferred; part 0 changes the state; the first
    # pass uses part 1 and defers part 2 again; the second pass uses part 2
    assert result.messages.deferred == 3 and result.messages.redelivered == 3
    redeliveries = [entry[4] for entry in result.log if entry[2] == "redeliver"]
    assert redeliveries == ["a1:Part(index=2)", "a2:Part(index=1)", "a1:Part(index=2)"]
    assert not result.rejected


def test_without_the_state_change_deferred_messages_stay_parked() -> None:
    result = simulate(InOrder(parts=3), seed=0, crashes={"a3": 0.0})  # part 0 never comes
    assert result.status == "no-decision" and "a0" not in result.decisions
    assert result.messages.deferred == 2 and result.messages.redelivered == 0 and result.quiescent


def test_deferred_queue_is_bounded_and_overflow_is_counted() -> None:
    result = simulate(InOrder(parts=2, junk=10), seed=0, defer_cap=4)
    assert result.status == "decided"
    assert result.rejected["defer-overflow"] >= 6  # 10 junk in a queue of 4: the oldest go
    with pytest.raises(ConfigurationError):
        Simulator(InOrder(), defer_cap=0)


def test_redelivery_terminates_for_a_node_that_changes_state_and_defers_forever() -> None:
    result = simulate(Churn(parts=4), seed=0)
    # the k-th arrival finds k parked messages and makes at most k passes over them
    assert result.quiescent and result.messages.redelivered == sum(k * k for k in range(1, 5))


def test_honest_strategy_defers_like_the_driver() -> None:
    protocol = InOrder(parts=3)
    wrapped = simulate(protocol, seed=0, byzantine={"a0": HonestStrategy("a0", protocol)})
    assert wrapped.decisions["a0"][0].value == "done"
    assert wrapped.messages.deferred == 0  # the strategy parks its own messages


class Procrastinator(Strategy):
    """A strategy for ``a0`` of :class:`InOrder` that defers parts it cannot use yet.

    A strategy's state is private, so the driver takes any effect other than a Defer
    as progress; this one acknowledges each used part with a harmless CancelTimer.
    """

    def __init__(self) -> None:
        super().__init__("a0")
        self.used = 0

    def on_message(self, message):  # type: ignore[no-untyped-def]
        if message.index > self.used:
            return (Defer(message),)
        self.used += 1
        return (CancelTimer("progress"),) + ((Decide("done"),) if self.used == 3 else ())


def test_drivers_redeliver_to_strategies_after_a_step_that_did_more_than_defer() -> None:
    strategy = Procrastinator()
    result = simulate(InOrder(parts=3), seed=0, byzantine={"a0": strategy})
    assert strategy.used == 3 and result.decisions["a0"][0].value == "done"
    assert result.messages.deferred == 3 and result.messages.redelivered == 3


# ------------------------------------------------------------------ approximate agreement
from fractions import Fraction  # noqa: E402

from mabeam.core.agreement import exactly_equal, within_tolerance  # noqa: E402
from mabeam.protocols.iterative import ApproximateAgreement, RoundValue  # noqa: E402
from mabeam.protocols.iterative.values import encode  # noqa: E402


class SplitExtremes(Strategy):
    """Sends every round's value at once: the low extreme to ``a0``, the high one to everyone else."""

    def __init__(self, agent: str, protocol: ApproximateAgreement) -> None:
        super().__init__(agent)
        self.protocol = protocol

    def on_start(self):  # type: ignore[no-untyped-def]
        low, high = self.protocol.extremes()
        return tuple(Send(to, RoundValue(session=self.protocol.session, sender=self.agent, round=r,
                                         value=encode(low if to == "a0" else high)))
                     for r in range(1, self.protocol.rounds + 1) for to in self.protocol.membership.others(self.agent))


def test_approximate_agreement_counts_decisions_within_epsilon_as_agreement() -> None:
    protocol = ApproximateAgreement(Membership.of_size(4), {"a0": 0, "a1": 1, "a2": 4, "a3": 2}, 1, (0, 4),
                                    Fraction(1, 2))
    result = simulate(protocol, seed=0, byzantine={"a3": SplitExtremes("a3", protocol)})
    values = {a: ds[0].value for a, ds in result.decisions.items()}
    assert set(values) == {"a0", "a1", "a2"}
    assert len(set(values.values())) > 1  # the equivocation pulled the decisions apart: exact equality fails
    spread = max(v[0][0] for v in values.values()) - min(v[0][0] for v in values.values())
    assert 0 < spread <= protocol.epsilon
    assert result.agreement and result.status == "decided" and not result.violations()
    assert result.decided_value is None  # no single value to report


def test_a_protocol_declares_how_its_decisions_agree() -> None:
    assert majority(3).decisions_agree(["x", "x"]) and not majority(3).decisions_agree(["x", "y"])
    near, far = ((Fraction(1),), 2), ((Fraction(5, 4),), 2)
    assert within_tolerance([near, far], Fraction(1, 4)) and not within_tolerance([near, far], Fraction(1, 8))
    assert not within_tolerance([near, ((Fraction(1),), 3)], Fraction(1))  # round counts are numbers too
    assert not exactly_equal([near, far]) and exactly_equal([near, near]) and exactly_equal([])
    assert not within_tolerance([(1, 2), (1, 2, 3)], 10) and not within_tolerance(["x", "y"], 10)
    assert not within_tolerance([True, False], 5) and within_tolerance([0.5, Fraction(3, 4)], 0.25)
    loose = ApproximateAgreement(Membership.of_size(4), {"a0": 0, "a1": 1, "a2": 4, "a3": 2}, 1, (0, 4),
                                 Fraction(1, 2))
    assert loose.decisions_agree([((Fraction(1),), 1), ((Fraction(5, 4),), 1)])
    assert not loose.decisions_agree([((Fraction(1),), 1), ((Fraction(2),), 1)])
