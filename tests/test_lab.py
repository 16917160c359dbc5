"""The attack and partition lab: every pattern and partition type, seeded, with verified accusations."""

from __future__ import annotations

import json

import pytest

from mabeam.attacks import Adaptive, CoalitionPlan
from mabeam.core import ConfigurationError
from mabeam.lab import (
    ATTACK_PATTERNS,
    PARTITION_SCENARIOS,
    partition_report,
    run_attack_pattern,
    run_partition_scenario,
)
from mabeam.lab.detection import accusations
from mabeam.lab.run import build_pbft, run_pbft
from mabeam.lab.scenarios import LAB_NETWORK, PartitionScenario
from mabeam.live.result import EvidenceRecord

pytestmark = pytest.mark.timeout(120)


@pytest.mark.parametrize("pattern", sorted(ATTACK_PATTERNS))
def test_every_pattern_is_safe_and_accuses_no_honest_agent(pattern: str) -> None:
    report, _run = run_attack_pattern(pattern, n=10, seed=1)
    assert report.byzantine == ["a0", "a1", "a2"] and report.liveness_promised
    assert report.safety and report.agreement and not report.violations
    assert report.false_positives == [] and report.unverifiable_accusations == 0
    assert report.liveness == "holds" and report.consensus_reached  # every honest replica executed (PBFT-L1)
    assert set(report.accused) <= set(report.byzantine)


def test_what_each_attack_gives_away() -> None:
    forging, _ = run_attack_pattern("forging", seed=0)
    assert forging.accused == ["a0", "a1", "a2"] and forging.detection_time is not None
    assert {a["kind"] for a in forging.accusations} == {"impersonation"}
    assert forging.unattributed_bad_signatures > 0  # refused, but never pinned on the name they carry
    silent, _ = run_attack_pattern("silent", seed=0)
    assert silent.accused == [] and silent.suspected == ["a0", "a1", "a2"] and silent.false_negatives == []
    assert silent.consensus_reached and silent.recovery_time is not None
    replaying, _ = run_attack_pattern("replaying", seed=0)
    assert {s["kind"] for s in replaying.suspicions} == {"replay"} and replaying.accused == []
    delaying, _ = run_attack_pattern("delaying", seed=0)
    assert delaying.false_negatives == ["a0", "a1", "a2"]  # late but inside the timeout: invisible


def test_adaptive_attacker_switches_once_suspected() -> None:
    protocol = build_pbft(10, view_timeout=0.5)
    strategies = ATTACK_PATTERNS["adaptive"](protocol, protocol.agents[:3])
    run_pbft(protocol, lambda p: strategies, network=LAB_NETWORK, seed=0)
    leader = strategies["a0"]
    assert isinstance(leader, Adaptive) and leader.switched
    assert type(leader.trigger).__name__ == "ViewChange" and leader.trigger.sender not in strategies


def test_coalition_plan_is_validated() -> None:
    with pytest.raises(ConfigurationError):
        CoalitionPlan(["a0"], ["a0"])
    with pytest.raises(ConfigurationError):
        CoalitionPlan([], ["a1"])
    plan = CoalitionPlan.split(["a0", "a1"], [f"a{i}" for i in range(6)])
    assert plan.victims == {"a4", "a5"} and plan.witness_set == frozenset()


def test_same_seed_same_report() -> None:
    for pattern in ("coalition", "max-fault-mixed"):
        first = json.dumps(run_attack_pattern(pattern, seed=3)[0].to_json(), sort_keys=True)
        assert first == json.dumps(run_attack_pattern(pattern, seed=3)[0].to_json(), sort_keys=True)
    first = json.dumps(run_partition_scenario("intermittent", seed=3)[0].to_json(), sort_keys=True)
    assert first == json.dumps(run_partition_scenario("intermittent", seed=3)[0].to_json(), sort_keys=True)


def test_an_unverifiable_accusation_is_counted_and_ignored() -> None:
    _, run = run_attack_pattern("forging", seed=0)
    genuine_looking = EvidenceRecord("equivocation", "a5", "a6", 0.1, None)  # names an honest agent, no proof
    run.result.evidence.append(genuine_looking)
    found, unverifiable = accusations(run)
    assert unverifiable == 1 and "a5" not in {a.against for a in found}


@pytest.mark.parametrize("name", sorted(PARTITION_SCENARIOS))
def test_partitions_never_let_a_side_without_quorum_decide(name: str) -> None:
    report, _ = run_partition_scenario(name, seed=2)
    assert report.safety and report.agreement and report.minority_decisions == [] and report.rolled_back == []
    assert all(d["group_size"] >= report.quorum or not d["cut_off"] for d in report.decided_during_partition)
    assert report.liveness == "holds"


def test_after_healing_split_sides_decide() -> None:
    for name in ("clean-split", "multiple-fragments", "intermittent"):
        report, _ = run_partition_scenario(name, seed=0)
        assert report.honest_decided == report.honest and report.time_to_decide_after_heal is not None
        assert report.decided_during_partition == [] or name == "intermittent"


def test_isolated_minority_catches_up_after_healing() -> None:
    """The 3 cut-off replicas moved ahead in views; after the heal their VIEW-CHANGEs reach replicas that
    executed, which answer with commit certificates (catch-up), so every honest replica executes."""
    report, run = run_partition_scenario("minority-isolation", seed=0)
    assert report.honest_decided == report.honest == 15 and report.safety
    assert all(d["group_size"] == 12 for d in report.decided_during_partition)
    isolated = run.protocol.agents[12:]
    assert all(run.states[a].decision_proofs for a in isolated)
    assert all(d.at >= 3.0 for a in isolated for d in run.result.decisions[a])  # only after the heal
    assert report.time_to_decide_after_heal is not None and report.time_to_decide_after_heal > 0


def test_equivocating_primary_is_accused_with_its_own_pre_prepares() -> None:
    """Backups forward the primary's signed pre-prepare in their prepares; conflicting ones meet."""
    report, run = run_attack_pattern("equivocating", seed=0)
    primary = run.protocol.primary(0)
    kinds = {(a["against"], a["kind"]) for a in report.accusations}
    assert (primary, "primary-equivocation") in kinds and report.false_positives == []
    coalition, _ = run_attack_pattern("coalition", seed=0)
    assert coalition.consensus_reached  # victims the coalition misled catch up


def test_the_minority_check_can_fail() -> None:
    """Judge an unpartitioned run as if it had been split 6/6: the deciders were 'cut off' below quorum."""
    protocol = build_pbft(12)
    run = run_pbft(protocol, None, network=LAB_NETWORK, seed=0)
    pretend = PartitionScenario("pretend", (6, 6), ((0.0, 5.0),))
    report = partition_report(pretend, run)
    assert report.minority_decisions and not report.safety


def test_beyond_the_bound_shows_what_breaks_and_evidence_names_only_culprits() -> None:
    """n=4, f=1, two coordinated equivocators (f+1): guarantees lapse and the monitors say which.

    The coalition's null-request twin is refused by honest victims ("bad-request"), so in these
    runs agreement survives; what breaks is PBFT-S3 (a slot committed at an honest replica that
    only one honest replica prepared) and PBFT-L2 (two faulty primaries in a row). Catch-up now
    brings every honest replica to the decision, so PBFT-L1 happens to hold although nothing
    promises it. Any evidence names only the coalition, and if agreement ever broke, at least
    f+1 culprits.
    """
    broken: set[str] = set()
    for seed in range(3):
        report, run = run_attack_pattern("coalition-stealth", n=4, byzantine=2, seed=seed)
        assert not report.liveness_promised
        assert set(report.accused) <= {"a0", "a1"} and report.false_positives == []
        if not report.agreement:
            assert len(report.accused) >= run.f + 1
        broken |= set(report.violations)
    assert {"PBFT-S3", "PBFT-L2"} <= broken
