"""The live asyncio runtime: the same state machines, real tasks and timers, clean shutdown."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from typing import Any

import pytest
from driver_toys import Forever, TimerToy, fired_in_order

from mabeam.core import Broadcast, ConfigurationError, Membership
from mabeam.core.observer import DELIVER, ObservedStep, Observer, RunInfo
from mabeam.live.monitor import PropertyViolation
from mabeam.live.network import Latency, NetworkModel, Partition
from mabeam.live.strategy import Strategy
from mabeam.protocols.majority import MajorityVoting, Vote, _QuorumOffByOne
from mabeam.runtime import AsyncRuntime, InProcessTransport, Transport, run_live
from mabeam.sim import simulate

pytestmark = pytest.mark.timeout(60)


def majority(n: int) -> MajorityVoting:
    return MajorityVoting(Membership.of_size(n), {f"a{i}": ("x" if i % 3 == 0 else "y") for i in range(n)})


def run_clean(coro_factory: Any) -> tuple[Any, list[str]]:
    """Run in a fresh loop; collect anything the loop reports (e.g. 'Task was destroyed')."""
    reports: list[str] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reports.append(ctx["message"]))
        result = await coro_factory()
        assert asyncio.all_tasks() == {asyncio.current_task()}  # every agent task is finished
        return result

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = asyncio.run(main())
        gc.collect()
    return result, reports


def assert_decided(result: Any, crashed: int = 0) -> None:
    assert result.driver == "runtime"
    assert result.status == "decided" and result.decided_value == "y" and result.agreement
    assert len(result.crashed) == crashed
    assert not result.violations() and not result.timed_out


# ------------------------------------------------------------------ same machine, live
def test_majority_150_agents_decides_live_and_matches_the_simulator() -> None:
    protocol = majority(150)
    live, reports = run_clean(lambda: AsyncRuntime(protocol, seed=1, timeout=45).run())
    assert_decided(live)
    assert reports == []
    assert live.quiescent and live.messages.sent == live.messages.delivered == 150 * 149
    simulated = simulate(protocol, seed=1)
    assert simulated.decided_value == live.decided_value
    assert set(simulated.decisions) == set(live.decisions)
    assert simulated.to_json()["messages"] == live.to_json()["messages"]


@pytest.mark.parametrize("scenario", ["loss", "duplication", "partition", "crashes"])
def test_majority_60_agents_decides_live_under_faults(scenario: str) -> None:
    agents = Membership.of_size(60).agents
    crashes: dict[str, float] = {}
    latency = Latency.uniform(0.0005, 0.003)
    if scenario == "loss":
        network = NetworkModel(latency=latency, loss=0.2, retransmit_timeout=0.01)
    elif scenario == "duplication":
        network = NetworkModel(latency=latency, duplication=0.3)
    elif scenario == "partition":
        network = NetworkModel(latency=latency,
                               partitions=(Partition([agents[:30], agents[30:]], start=0.0, heal=0.15),))
    else:
        network = NetworkModel(latency=latency)
        crashes = {f"a{i}": (0.0 if i % 2 else 0.002) for i in range(1, 30, 3)}
    result, reports = run_clean(lambda: AsyncRuntime(majority(60), network, seed=3, timeout=30,
                                                     crashes=crashes).run())
    assert_decided(result, crashed=len(crashes))
    assert reports == []
    m = result.messages
    if scenario == "loss":
        assert m.retransmitted > 0 and m.dropped == 0
    if scenario == "duplication":
        assert m.duplicated > 0 and m.delivered == m.sent + m.duplicated
    if scenario == "partition":
        assert min(d[0].at for d in result.decisions.values()) >= 0.15
    if scenario == "crashes":
        assert set(result.crashed) == set(crashes) and len(result.decisions) == 50


# ------------------------------------------------------------------ timers
def test_timer_cancel_and_rearm_semantics_match_the_simulator() -> None:
    unit = 0.04
    live, reports = run_clean(lambda: AsyncRuntime(TimerToy(agents=3, unit=unit), seed=0, timeout=10,
                                                   properties=[fired_in_order], monitor="decision").run())
    assert reports == []
    assert live.status == "decided" and live.quiescent
    assert live.properties["TOY-S1"]["status"] == "holds"
    assert live.events == 3 * (1 + 3)  # a start and exactly three firings (u, x, t) per agent
    assert 2.5 * unit <= live.duration < 2.5 * unit + 1.0  # t was re-armed at 0.5 to fire 2 later
    simulated = simulate(TimerToy(agents=3, unit=unit), seed=0, properties=[fired_in_order])
    assert simulated.events == live.events and simulated.status == live.status


# ------------------------------------------------------------------ deadlines + shutdown
def test_timeout_gives_an_explicit_no_decision_without_hanging() -> None:
    started = time.perf_counter()
    result, reports = run_clean(lambda: AsyncRuntime(Forever(agents=5, period=0.005), seed=0,
                                                     timeout=0.3).run())
    elapsed = time.perf_counter() - started
    assert result.status == "no-decision" and result.timed_out and not result.quiescent
    assert result.decided_value is None and result.decisions == {}
    assert result.events > 5 and elapsed < 5.0
    assert reports == []


def test_quiescence_without_a_majority_ends_early_as_no_decision() -> None:
    protocol = MajorityVoting(Membership.of_size(6), {f"a{i}": ("x" if i < 3 else "y") for i in range(6)})
    started = time.perf_counter()
    result = run_live(protocol, seed=0, timeout=20)
    assert time.perf_counter() - started < 10
    assert result.status == "no-decision" and result.quiescent and not result.timed_out
    assert result.properties["MAJ-L1"]["status"] == "holds"  # nothing is promised without a majority


def test_runtime_rejects_bad_settings() -> None:
    for bad in (0, -1.0, float("nan"), float("inf"), True):
        with pytest.raises(ConfigurationError):
            AsyncRuntime(majority(3), timeout=bad)
    with pytest.raises(ConfigurationError):
        AsyncRuntime(majority(3), NetworkModel(partitions=(Partition([{"a0"}, {"nobody"}]),)))
    with pytest.raises(ConfigurationError):
        AsyncRuntime(majority(3), crashes={"a0": float("nan")})


# ------------------------------------------------------------------ Byzantine + monitor
class WrongSession(Strategy):
    def on_start(self):  # type: ignore[no-untyped-def]
        return (Broadcast(Vote(session="elsewhere", sender=self.agent, value="x")),
                Broadcast(Vote(session="s0", sender="a0", value="x")))


def test_rejected_messages_are_counted_live_not_fatal() -> None:
    result, reports = run_clean(lambda: AsyncRuntime(majority(20), seed=2, timeout=10,
                                                     byzantine={"a19": WrongSession("a19")}).run())
    assert result.rejected == {"wrong-session": 19, "impersonation": 1}
    assert result.status == "decided" and "a19" not in result.decisions
    assert reports == []


def test_live_monitor_records_and_can_raise_a_violation() -> None:
    mutant = _QuorumOffByOne(Membership.of_size(4), {"a0": "x", "a1": "x", "a2": "y", "a3": "y"})
    result = run_live(mutant, seed=1, timeout=10)
    assert result.status == "violated" and "MAJ-S2" in result.violations()
    mutant = _QuorumOffByOne(Membership.of_size(4), {"a0": "x", "a1": "x", "a2": "y", "a3": "y"})
    with pytest.raises(PropertyViolation, match="MAJ-S2"):
        run_live(mutant, seed=1, timeout=10, raise_on_violation=True)


# ------------------------------------------------------------------ transport seam
class CountingTransport(InProcessTransport):
    """A transport subclass sees every send: the seam a TCP transport would plug into."""

    def __init__(self, network: NetworkModel) -> None:
        from mabeam.core import SeededRandom

        super().__init__(network, SeededRandom(0))
        self.seen: list[tuple[str, str]] = []

    def send(self, sender: str, to: str, message: Any, depth: int) -> None:
        self.seen.append((sender, to))
        super().send(sender, to, message, depth)


def test_runtime_talks_to_any_transport() -> None:
    transport = CountingTransport(NetworkModel())
    assert isinstance(transport, Transport)
    result = run_live(majority(5), timeout=10, transport=transport)
    assert result.status == "decided" and len(transport.seen) == 20
    assert {to for _, to in transport.seen} == {f"a{i}" for i in range(5)}


class DeliveryOrder(Observer):
    """Who sent each message an agent handled, in the order the run handled them."""

    def __init__(self) -> None:
        self.senders: list[str] = []

    def on_step(self, step: ObservedStep) -> None:
        if step.kind == DELIVER:
            self.senders.append(step.detail.sender)  # type: ignore[union-attr]


def test_events_are_handled_in_arrival_order_across_agents() -> None:
    """Every agent's vote goes out on start; a0's copies arrive first, then a1's, and so on. Handled
    in arrival order, no copy of a later sender's vote is handled before an earlier sender's (an
    agent draining its own inbox would handle every vote it holds, of every sender, in one go)."""
    order = DeliveryOrder()
    result = run_live(majority(7), timeout=10, observers=[order])
    assert result.status == "decided" and len(order.senders) == 7 * 6
    assert order.senders == sorted(order.senders, key=lambda a: int(a[1:]))


class ViewReader(Observer):
    """Reads the driver's O(1) view inside every step notification."""

    def __init__(self) -> None:
        self.view: Any = None
        self.steps = 0

    def on_run_start(self, run: RunInfo) -> None:
        self.view = run.view

    def on_step(self, step: ObservedStep) -> None:
        snap = self.view()
        assert snap.states[step.agent] is step.after  # the live table, not a copy taken earlier
        with pytest.raises(TypeError):
            snap.states[step.agent] = None  # type: ignore[index]  # read-only
        self.steps += 1


def test_the_step_view_is_the_live_table_read_only() -> None:
    reader = ViewReader()
    result = run_live(majority(5), timeout=10, observers=[reader])
    assert result.status == "decided" and reader.steps == result.events


# ------------------------------------------------------------------ Defer
from defer_toys import InOrder  # noqa: E402


def test_runtime_redelivers_deferred_messages_after_a_state_change() -> None:
    result = run_live(InOrder(parts=3), timeout=5)
    assert result.status == "decided" and result.decisions["a0"][0].value == "done"
    assert result.messages.deferred == 3 and result.messages.redelivered == 3
    assert result.quiescent and not result.rejected


def test_runtime_bounds_the_deferred_queue() -> None:
    result = run_live(InOrder(parts=2, junk=10), timeout=5, defer_cap=4)
    assert result.status == "decided" and result.rejected["defer-overflow"] >= 6
    with pytest.raises(ConfigurationError):
        AsyncRuntime(InOrder(), defer_cap=0)


# ------------------------------------------------------------------ hosting part of the group
def test_a_runtime_hosting_some_agents_is_validated() -> None:
    from mabeam.runtime import TcpTransport

    protocol = majority(4)
    with pytest.raises(ConfigurationError, match="needs a transport"):
        AsyncRuntime(protocol, local=("a0", "a1"))
    with pytest.raises(ConfigurationError):
        AsyncRuntime(protocol, local=())
    with pytest.raises(KeyError):
        AsyncRuntime(protocol, local=("zz",))
    transport = TcpTransport(protocol, ("a0", "a1"), insecure=True)
    with pytest.raises(ConfigurationError, match="another runtime hosts"):
        AsyncRuntime(protocol, local=("a0", "a1"), transport=transport, crashes={"a2": 0.1})
    with pytest.raises(ConfigurationError, match="another runtime hosts"):
        AsyncRuntime(protocol, local=("a0", "a1"), transport=transport, byzantine={"a3": Strategy("a3")})
    runtime = AsyncRuntime(protocol, local=("a0", "a1"), transport=transport)
    assert runtime.partial and runtime.monitor.properties == ()  # group properties need the whole group
    assert not AsyncRuntime(protocol).partial
    with pytest.raises(ConfigurationError, match="has not run"):
        runtime.observed()


def test_a_partial_runtime_runs_only_its_own_agents_and_never_claims_quiescence() -> None:
    """Half of a group with nobody at the other addresses: its agents start, vote, and wait until the deadline."""
    from mabeam.runtime import TcpTransport

    protocol = majority(4)

    async def main() -> Any:
        transport = TcpTransport(protocol, ("a0", "a1"), {"a2": ("127.0.0.1", 9), "a3": ("127.0.0.1", 9)},
                                 insecure=True, close_grace=0.05)
        runtime = AsyncRuntime(protocol, local=("a0", "a1"), transport=transport, timeout=0.3)
        result = await runtime.run()
        return result, runtime.observed()

    (result, (states, decisions, _)), reports = run_clean(main)
    assert reports == [] and set(states) == {"a0", "a1"} and all(s is not None for s in states.values())
    assert result.status == "no-decision" and result.timed_out and not result.quiescent
    assert result.messages.sent == 6 and result.messages.delivered == 2  # a0 <-> a1 in-process; 4 unreachable
    assert decisions == frozenset() and result.properties == {}
