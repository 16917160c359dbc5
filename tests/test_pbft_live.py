"""PBFT live: the session API on both drivers, under network faults and every attack strategy.

Attackers are the first f agents: the primaries of views 0..f-1, where a Byzantine
node does the most damage (it must be voted out by a view change).
"""

from __future__ import annotations

import asyncio

import pytest

from mabeam.api.session import start_byzantine_consensus, start_byzantine_consensus_async
from mabeam.core import (
    ConfigurationError,
    EmptyAgentPoolError,
    InsufficientReplicasError,
    UnknownAgentError,
)
from mabeam.live.network import Latency, NetworkModel
from mabeam.live.strategy import Strategy

pytestmark = pytest.mark.timeout(120)

JITTERY_LOSSY = NetworkModel(latency=Latency.uniform(0.001, 0.02), loss=0.1, duplication=0.05,
                             retransmit_timeout=0.05)
VIEW_TIMEOUT = 0.5
ATTACK_OPTIONS = {
    "silent": {"after_messages": 2},  # a primary that stops half-way through its pre-prepare broadcast
    "delaying": {"delay": VIEW_TIMEOUT / 2},  # late copies land before the view-change timers expire
    "replaying": {"period": 0.1},
}
ALL_DECIDE = ["silent", "delaying", "forging", "replaying"]


def run(n: int, attack: str | None, seed: int, driver: str = "simulator", **options: object):  # type: ignore[no-untyped-def]
    f = (n - 1) // 3
    byzantine = {f"a{i}": attack for i in range(f)} if attack else {}
    settings = {"network": JITTERY_LOSSY, "view_timeout": VIEW_TIMEOUT, "attack_options": ATTACK_OPTIONS,
                **options}
    if driver == "runtime":
        settings.update(network=NetworkModel(latency=Latency.uniform(0.001, 0.005)), view_timeout=0.2,
                        timeout=10)
        settings["attack_options"] = {**ATTACK_OPTIONS, "delaying": {"delay": 0.1},
                                      "replaying": {"period": 0.05}}
    return start_byzantine_consensus("launch", n, byzantine=byzantine, seed=seed, driver=driver,
                                     **settings)  # type: ignore[arg-type]


def honest_decisions(result) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    return {a: {d.value for d in ds} for a, ds in result.decisions.items() if a not in result.byzantine}


def assert_safe(result) -> None:  # type: ignore[no-untyped-def]
    assert result.agreement and not result.violations(), result.properties
    assert "violated" not in {v["status"] for v in result.properties.values()}
    assert all(values == {"launch"} for values in honest_decisions(result).values())


def assert_all_honest_decide(result, n: int) -> None:  # type: ignore[no-untyped-def]
    assert_safe(result)
    assert result.status == "decided" and result.decided_value == "launch"
    assert len(honest_decisions(result)) == n - len(result.byzantine)


# ------------------------------------------------------------------ no attack
@pytest.mark.parametrize("seed", range(10))
def test_pbft_decides_on_a_lossy_jittery_network(seed: int) -> None:
    result = run(4, None, seed)
    assert_all_honest_decide(result, 4)
    assert result.messages.retransmitted + result.messages.duplicated > 0
    assert result.extras["view_changes"] == 0


def test_pbft_messages_are_deferred_not_lost_when_they_arrive_early() -> None:
    results = [run(7, None, seed) for seed in range(5)]
    for result in results:
        assert_all_honest_decide(result, 7)
    assert sum(r.messages.deferred for r in results) > 0
    assert all(r.messages.redelivered <= r.messages.deferred for r in results)


# ------------------------------------------------------------------ attacks, simulator
@pytest.mark.parametrize("attack", ALL_DECIDE)
@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("seed", range(3))
def test_honest_replicas_decide_the_same_value_under_attack(attack: str, n: int, seed: int) -> None:
    result = run(n, attack, seed)
    assert_all_honest_decide(result, n)
    assert result.byzantine == tuple(f"a{i}" for i in range((n - 1) // 3))


@pytest.mark.parametrize("n", [4, 7])
def test_a_silent_primary_is_voted_out_by_a_view_change(n: int) -> None:
    result = run(n, "silent", 0)
    assert_all_honest_decide(result, n)
    assert result.extras["view_changes"] >= 1


@pytest.mark.parametrize("n", [4, 7])
def test_forgeries_are_rejected_and_counted_by_reason(n: int) -> None:
    result = run(n, "forging", 1)
    assert_all_honest_decide(result, n)
    assert result.rejected["bad-signature"] > 0  # refused by honest replicas after verifying
    assert result.rejected["impersonation"] > 0  # another member's name: refused by the driver


@pytest.mark.parametrize("n", [4, 7])
def test_replayed_messages_from_old_sessions_and_views_are_refused(n: int) -> None:
    result = run(n, "replaying", 2)
    assert_all_honest_decide(result, n)
    assert result.rejected["wrong-session"] > 0
    assert result.rejected.get("outside-watermarks", 0) + result.rejected.get("stale-view", 0) \
        + result.rejected.get("duplicate", 0) > 0


def equivocating_backups(n: int) -> dict[str, str]:
    """The last f members, so the primary of view 0 stays honest."""
    return {f"a{n - 1 - i}": "equivocating" for i in range((n - 1) // 3)}


@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("seed", range(3))
def test_an_equivocating_backup_is_refused_and_blamed_only_with_verifiable_evidence(n: int, seed: int) -> None:
    """Every twin vote is refused: as an equivocation, with evidence, by a witness that had
    already counted the true vote, otherwise as not matching the pre-prepare's digest (the
    order of arrival decides which, so evidence is not promised for every seed)."""
    byzantine = equivocating_backups(n)
    result = start_byzantine_consensus("launch", n, byzantine=byzantine, seed=seed, network=JITTERY_LOSSY,
                                       view_timeout=VIEW_TIMEOUT)
    assert_all_honest_decide(result, n)
    assert result.rejected.get("equivocation", 0) + result.rejected.get("digest-mismatch", 0) > 0
    assert result.rejected.get("equivocation", 0) == len(result.evidence)
    assert {e.against for e in result.evidence} <= set(byzantine)
    assert result.extras["evidence_verified"] == len(result.evidence)


@pytest.mark.parametrize("n", [4, 7])
def test_an_equivocating_backup_is_caught_with_evidence_on_most_seeds(n: int) -> None:
    byzantine = equivocating_backups(n)
    caught = sum(bool(start_byzantine_consensus("launch", n, byzantine=byzantine, seed=seed,
                                                network=JITTERY_LOSSY, view_timeout=VIEW_TIMEOUT).evidence)
                 for seed in range(6))
    assert caught >= 4


@pytest.mark.parametrize("n", [4, 7])
@pytest.mark.parametrize("seed", range(3))
def test_an_equivocating_primary_never_splits_the_honest_replicas(n: int, seed: int) -> None:
    """Safety holds; a decision needs 2f+1 commits, so at least f+1 honest replicas decide.

    The replicas the primary lied to may stay undecided: this PBFT has no state
    transfer for a replica left behind once the others have finished.
    """
    result = run(n, "equivocating", seed)
    assert_safe(result)
    f = (n - 1) // 3
    assert len(honest_decisions(result)) >= f + 1
    assert result.rejected["bad-request"] > 0  # the conflicting pre-prepares
    assert result.extras["evidence_verified"] == len(result.evidence)


def test_a_primary_delaying_past_the_view_timeout_cannot_break_agreement() -> None:
    for seed in range(3):
        result = run(4, "delaying", seed, attack_options={"delaying": {"delay": 3 * VIEW_TIMEOUT}})
        assert_safe(result)
        assert len(honest_decisions(result)) >= 2


def test_same_seed_same_result_in_the_simulator() -> None:
    for attack in ("equivocating", "delaying", "replaying"):
        first = run(7, attack, 5).to_json_text(wall_clock=False)
        assert first == run(7, attack, 5).to_json_text(wall_clock=False)
    assert run(7, "equivocating", 5).to_json_text(wall_clock=False) != \
        run(7, "equivocating", 6).to_json_text(wall_clock=False)


@pytest.mark.parametrize(("communication", "messages"), [("all-to-all", lambda n: 2 * n * (n - 1)),
                                                        ("linear", lambda n: 5 * (n - 1))])
@pytest.mark.parametrize("n", [4, 7, 13])
def test_a_session_sends_one_decisions_votes_and_no_checkpoint(n: int, communication: str, messages) -> None:  # type: ignore[no-untyped-def]
    """A session orders one request, so it takes no checkpoint (SESSION_CHECKPOINT_INTERVAL): a run
    to quiescence sends the pre-prepare and the two phases' votes, nothing else (a checkpoint
    after the decision would add n(n-1) messages)."""
    result = start_byzantine_consensus("launch", n, seed=3, communication=communication, view_timeout=60.0)
    assert_all_honest_decide(result, n)
    assert result.messages.sent == messages(n)


def test_symbolic_and_ed25519_authentication_decide_alike() -> None:
    ed = run(4, "silent", 0, authentication="ed25519")
    symbolic = run(4, "silent", 0, authentication="symbolic")
    assert ed.status == symbolic.status == "decided" and ed.rounds == symbolic.rounds
    assert ed.messages.sent == symbolic.messages.sent


# ------------------------------------------------------------------ runtime
@pytest.mark.parametrize("attack", [None, *ALL_DECIDE])
def test_runtime_honest_replicas_decide_under_attack(attack: str | None) -> None:
    result = run(4, attack, 1, driver="runtime")
    assert result.driver == "runtime"
    assert_all_honest_decide(result, 4)


def test_runtime_equivocating_backup_and_forger_are_caught() -> None:
    result = start_byzantine_consensus("launch", 4, driver="runtime", byzantine={"a3": "equivocating"},
                                       seed=2, view_timeout=0.2, timeout=10)
    assert_all_honest_decide(result, 4)
    assert result.evidence and result.extras["evidence_verified"] == len(result.evidence)
    forged = run(4, "forging", 3, driver="runtime")
    assert forged.rejected["bad-signature"] > 0 and forged.rejected["impersonation"] > 0


def test_runtime_sessions_run_concurrently_in_one_loop() -> None:
    async def many() -> list:
        return await asyncio.gather(*(
            start_byzantine_consensus_async(f"value-{i}", 4, byzantine={"a0": "silent"}, seed=i,
                                            view_timeout=0.1, timeout=10, session=f"s{i}")
            for i in range(5)))

    results = asyncio.run(many())
    assert [r.decided_value for r in results] == [f"value-{i}" for i in range(5)]
    assert all(r.status == "decided" for r in results)


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(("call", "error"), [
    (lambda: start_byzantine_consensus("v", 3, fault_tolerance=1), InsufficientReplicasError),
    (lambda: start_byzantine_consensus("v", 6, fault_tolerance=2), InsufficientReplicasError),
    (lambda: start_byzantine_consensus("v", 4, byzantine={"a0": "silent", "a1": "silent"}),
     InsufficientReplicasError),
    (lambda: start_byzantine_consensus("v", 4, byzantine={"zed": "silent"}), UnknownAgentError),
    (lambda: start_byzantine_consensus("v", []), EmptyAgentPoolError),
    (lambda: start_byzantine_consensus("v", 0), EmptyAgentPoolError),
    (lambda: start_byzantine_consensus("", 4), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, byzantine={"a0": "teleporting"}), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, byzantine={"a0": Strategy("a1")}), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, authentication="rot13"), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, driver="quantum"), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, view_timeout=0), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, fault_tolerance=-1), ConfigurationError),
    (lambda: start_byzantine_consensus("v", ["a", "client", "b", "c"]), ConfigurationError),
    (lambda: start_byzantine_consensus("v", 4, byzantine={"a0": "silent"},
                                       attack_options={"silent": {"volume": 3}}), ConfigurationError),
])
def test_bad_inputs_raise_typed_errors(call, error) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(error):
        call()


def test_named_agents_and_the_session_result_report() -> None:
    result = start_byzantine_consensus("ship-it", ["alice", "bob", "carol", "dave"],
                                       byzantine={"alice": "silent"}, seed=3)
    assert result.status == "decided" and result.decided_value == "ship-it"
    report = result.to_json()
    assert report["extras"]["view_changes"] == 1 and report["rounds"] >= 1
    assert report["messages"]["sent"] > 0 and report["duration"] > 0
    assert isinstance(report["rejected"], dict) and report["evidence"] == []
