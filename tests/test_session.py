"""The public session API: run any protocol on either driver; majority and weighted conveniences."""

from __future__ import annotations

import asyncio
import json

import pytest
from driver_toys import Forever

from mabeam.api.session import (
    SessionResult,
    run_protocol,
    run_protocol_async,
    start_majority_vote,
    start_weighted_vote,
)
from mabeam.core import Broadcast, ConfigurationError, InvalidWeightError, Membership
from mabeam.live.network import Latency, NetworkModel, Partition
from mabeam.live.result import RunResult
from mabeam.live.strategy import Strategy
from mabeam.protocols.majority import MajorityVoting

pytestmark = pytest.mark.timeout(120)

FAULTY_NETWORK = NetworkModel(latency=Latency.uniform(0.0005, 0.003), loss=0.1, duplication=0.1,
                              retransmit_timeout=0.01)


def proposals(n: int, every: int = 3) -> dict[str, str]:
    return {f"a{i}": ("x" if i % every == 0 else "y") for i in range(n)}


# ------------------------------------------------------------------ run_protocol
@pytest.mark.parametrize("driver", ["simulator", "runtime"])
def test_run_protocol_reports_the_full_session_result(driver: str) -> None:
    protocol = MajorityVoting(Membership.of_size(9), proposals(9))
    result = run_protocol(protocol, driver, network=FAULTY_NETWORK, seed=4, timeout=20)
    assert isinstance(result, SessionResult) and SessionResult is RunResult
    assert result.driver == driver and result.status == "decided" and result.decided_value == "y"
    assert set(result.decisions) == set(protocol.agents) and result.rounds == 1
    assert result.messages.sent == 72 and result.duration > 0
    assert {p for p in result.properties} == {"MAJ-S1", "MAJ-S2", "MAJ-S3", "MAJ-S4", "MAJ-S5", "MAJ-R1",
                                              "MAJ-L1"}
    encoded = json.loads(json.dumps(result.to_json()))
    assert encoded["status"] == "decided" and encoded["decisions"]["a0"][0]["value"] == "y"


def test_simulator_timeout_is_virtual_and_gives_no_decision() -> None:
    result = run_protocol(Forever(agents=2, period=0.1), "simulator", timeout=5.0)
    assert result.status == "no-decision" and result.timed_out and result.duration <= 5.0


def test_run_protocol_async_runs_inside_the_callers_loop() -> None:
    async def inside_a_running_loop() -> SessionResult:
        return await run_protocol_async(MajorityVoting(Membership.of_size(5), proposals(5)), timeout=10)

    result = asyncio.run(inside_a_running_loop())
    assert result.status == "decided" and result.driver == "runtime"


def test_blocking_runtime_call_inside_a_loop_says_what_to_use() -> None:
    async def blocking_call_in_a_loop() -> None:
        run_protocol(MajorityVoting(Membership.of_size(3), proposals(3)), "runtime")

    with pytest.raises(ConfigurationError, match="run_protocol_async"):
        asyncio.run(blocking_call_in_a_loop())


@pytest.mark.parametrize("call", [
    lambda: run_protocol(MajorityVoting(Membership.of_size(3), proposals(3)),
                         "cluster"),  # type: ignore[arg-type]
    lambda: run_protocol(MajorityVoting(Membership.of_size(3), proposals(3)), "runtime", record_log=True),
    lambda: start_majority_vote([("a0", "x")]),  # type: ignore[arg-type]
    lambda: start_majority_vote({}),
    lambda: start_majority_vote({"a0": "x", "a1": 3}),  # type: ignore[dict-item]
    lambda: start_majority_vote(proposals(3), network=NetworkModel(partitions=(Partition([{"a0"}, {"b"}]),))),
])
def test_bad_session_arguments_raise_configuration_errors(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigurationError):
        call()


# ------------------------------------------------------------------ majority
def test_start_majority_vote_on_both_drivers_agrees() -> None:
    votes = proposals(40)
    simulated = start_majority_vote(votes, network=FAULTY_NETWORK, seed=1, crashes={"a1": 0.0})
    live = start_majority_vote(votes, driver="runtime", network=FAULTY_NETWORK, seed=1, timeout=20,
                               crashes={"a1": 0.0})
    for result in (simulated, live):
        assert result.status == "decided" and result.decided_value == "y" and result.crashed == ("a1",)
        assert len(result.decisions) == 39
    assert simulated.to_json_text(wall_clock=False) == start_majority_vote(
        votes, network=FAULTY_NETWORK, seed=1, crashes={"a1": 0.0}).to_json_text(wall_clock=False)


# ------------------------------------------------------------------ weighted
def weighted_inputs(n: int) -> tuple[dict[str, str], dict[str, int]]:
    """Three quarters vote x, carrying well over 2/3 of the weight; weights 1..3."""
    return ({f"a{i}": ("y" if i % 4 == 0 else "x") for i in range(n)},
            {f"a{i}": 1 + (i % 3) for i in range(n)})


def test_weighted_vote_crash_mode_decides_under_faults_in_both_drivers() -> None:
    votes, weights = weighted_inputs(60)
    agents = list(votes)
    partitioned = NetworkModel(latency=Latency.uniform(0.0005, 0.003), loss=0.1, duplication=0.1,
                               retransmit_timeout=0.01,
                               partitions=(Partition([agents[:30], agents[30:]], start=0.0, heal=0.1),))
    crashes = {"a1": 0.0, "a5": 0.001}
    for driver in ("simulator", "runtime"):
        result = start_weighted_vote(votes, weights, byzantine_safe=False, driver=driver,
                                     network=partitioned, seed=2, timeout=30, crashes=crashes)
        assert result.status == "decided" and result.decided_value == "x", driver
        assert len(result.decisions) == 58 and not result.violations()
        assert {"WV-S1", "WV-S5"} <= set(result.properties)
        assert result.messages.retransmitted > 0 and result.messages.duplicated > 0


class Equivocator(Strategy):
    """Votes x to everyone and then y to everyone, under its own name."""

    def __init__(self, agent: str, vote_type: type) -> None:
        super().__init__(agent)
        self.vote_type = vote_type

    def on_start(self):  # type: ignore[no-untyped-def]
        fields = {"session": "s0", "sender": self.agent}
        extra = {f: 1 for f in self.vote_type.__struct_fields__ if f not in ("session", "sender", "value")}
        return (Broadcast(self.vote_type(**fields, **extra, value="y")),
                Broadcast(self.vote_type(**fields, **extra, value="x")))


def test_weighted_vote_byzantine_mode_survives_an_equivocator() -> None:
    from mabeam.protocols.weighted import Vote

    votes, weights = weighted_inputs(30)
    weights["a29"] = 1
    result = start_weighted_vote(votes, weights, byzantine_safe=True, max_faulty_weight=1, seed=3,
                                 network=NetworkModel(latency=Latency.uniform(0.001, 0.01)),
                                 byzantine={"a29": Equivocator("a29", Vote)})
    assert result.status == "decided" and result.decided_value == "x" and result.agreement
    assert result.byzantine == ("a29",) and len(result.decisions) == 29
    assert not result.violations()
    assert result.evidence and {e.against for e in result.evidence} == {"a29"}


def test_weighted_vote_rejects_bad_weights_with_typed_errors() -> None:
    votes, weights = weighted_inputs(4)
    with pytest.raises(InvalidWeightError):
        start_weighted_vote(votes, {**weights, "a0": -1})
    with pytest.raises(ConfigurationError):
        start_weighted_vote(votes, weights, threshold=0.5, byzantine_safe=True)
    with pytest.raises(ConfigurationError):
        start_weighted_vote(votes, weights, byzantine_safe="yes")  # type: ignore[arg-type]


def test_weighted_vote_200_agents_in_the_simulator_under_faults() -> None:
    votes, weights = weighted_inputs(200)
    agents = list(votes)
    network = NetworkModel(latency=Latency.uniform(0.001, 0.01), loss=0.1, duplication=0.1,
                           retransmit_timeout=0.05,
                           partitions=(Partition([agents[:100], agents[100:]], start=0.0, heal=0.2),))
    result = start_weighted_vote(votes, weights, byzantine_safe=False, network=network, seed=5,
                                 crashes={f"a{i}": 0.0 for i in range(1, 40, 4)})
    assert result.status == "decided" and result.decided_value == "x" and len(result.decisions) == 190


# ------------------------------------------------------------------ any registered protocol
REGISTERED = sorted(__import__("mabeam.api.registry", fromlist=["entries"]).entries())


@pytest.mark.parametrize("name", REGISTERED)
@pytest.mark.parametrize("driver", ["simulator", "runtime"])
def test_every_registered_protocol_decides_unchanged_on_both_drivers(name: str, driver: str) -> None:
    from mabeam.api.registry import get

    entry = get(name)
    protocol = entry.factory(entry.default_agents, 0)
    result = run_protocol(protocol, driver, network=NetworkModel(latency=Latency.uniform(0.001, 0.002)),
                          seed=6, timeout=20, stop_when_decided=True)
    assert result.protocol == name and result.events > 0
    assert not result.violations(), result.properties
    assert set(result.properties) == {p.id for p in entry.properties}
    assert result.status == "decided"  # each factory's inputs are chosen so that deciding is promised


@pytest.mark.parametrize("name", REGISTERED)
def test_every_registered_protocol_stays_safe_under_network_faults(name: str) -> None:
    from mabeam.api.registry import get

    entry = get(name)
    for seed in range(3):
        result = run_protocol(entry.factory(entry.default_agents, 0), network=FAULTY_NETWORK, seed=seed,
                              timeout=60, max_events=100_000, monitor="decision")
        assert not result.violations(), (seed, result.properties)
