"""Hypothesis stateful suites for PBFT (spec: ``spec/pbft.md``).

Long random runs over the same transition system the exhaustive checker uses,
for groups too large to exhaust (n = 4, 7, 10, f = (n-1)//3), on a multiset
network with message loss and duplication budgets, a crash of an honest
replica that may restart from its durable state (``max_recoveries=1``),
and a Byzantine view-0 primary that may send anything it can sign.
After every step the safety properties PBFT-S1..S9, L2, L3 and A1 are asserted;
one more suite keeps the pre-prepare history (``audit_pre_prepares``) and adds
PBFT-A2 (an equivocating primary is exposed), with one view change allowed so
catch-up, forwarded pre-prepares and VIEW-CHANGE certificates all occur.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig
from mabeam.checker.stateful import protocol_state_machine
from mabeam.core import Kind
from mabeam.protocols.pbft import ENTRY, PBFTReplica, build_checked
from mabeam.protocols.pbft.mutants import BundledVotesUnverified, PrimaryEquivocationIgnored

SAFETY_IDS = {"PBFT-S1", "PBFT-S2", "PBFT-S3", "PBFT-S4", "PBFT-S5", "PBFT-S6", "PBFT-S7", "PBFT-S8",
              "PBFT-S9", "PBFT-L2", "PBFT-L3", "PBFT-A1", "PBFT-A2"}


def _model(agents: int, drops: int, duplicates: int, crashes: int, mutant: str | None = None,
           recoveries: int = 0) -> ActorModel:
    return build_model(ENTRY, agents, (agents - 1) // 3, mutant=mutant, network="multiset", drops=drops,
                       duplicates=duplicates, max_crashes=crashes, max_recoveries=recoveries)


def _audited(cls: type[PBFTReplica] = PBFTReplica) -> ActorModel:
    """n = 4 with the A2 history kept and one view change: the full Byzantine view-0 primary."""
    return ActorModel(build_checked(4, 1, cls, max_view=1, audit_pre_prepares=True),
                      CheckConfig(network="multiset", duplicates=2, byzantine=frozenset({"a0"})))


def _suite(agents: int, examples: int, steps: int) -> type:
    machine = protocol_state_machine(lambda: _model(agents, drops=2, duplicates=2, crashes=1, recoveries=1),
                                     ENTRY.properties,
                                     name=f"PBFT{agents}")
    machine.TestCase.settings = settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
    return machine


def _batched() -> ActorModel:
    """n = 4, three requests in batches of two over two sequence numbers, the second batch partial
    (it waits for the batch timer): batching's own paths under the same properties."""
    return ActorModel(build_checked(4, 1, requests=(("c0", "x"), ("c1", "y"), ("c0", "z")), max_seq=2,
                                    batch_size=2, batch_timeout=1.0),
                      CheckConfig(network="multiset", duplicates=2, byzantine=frozenset({"a0"})))


PBFT4Batched = protocol_state_machine(_batched, ENTRY.properties, name="PBFT4Batched")
PBFT4Batched.TestCase.settings = settings(max_examples=20, stateful_step_count=40, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
TestPBFT4Batched = PBFT4Batched.TestCase

def _linear() -> ActorModel:
    """n = 7, linear communication, one view change, an honest view-0 collector and two Byzantine backups
    (every vote they can sign in flight), drops, duplicates and a crash-recover fault. The Byzantine
    collector's forged bundles are the mutant test's below."""
    return ActorModel(build_checked(7, 2, max_view=1, communication="linear"),
                      CheckConfig(network="multiset", drops=2, duplicates=2, max_crashes=1, max_recoveries=1,
                                  byzantine=frozenset({"a5", "a6"})))


PBFT7Linear = protocol_state_machine(_linear, ENTRY.properties, name="PBFT7Linear")
PBFT7Linear.TestCase.settings = settings(max_examples=10, stateful_step_count=40, deadline=None,
                                         suppress_health_check=[HealthCheck.too_slow])
TestPBFT7Linear = PBFT7Linear.TestCase

PBFT4 = _suite(4, examples=40, steps=40)
PBFT7 = _suite(7, examples=10, steps=40)
PBFT10 = _suite(10, examples=5, steps=40)
PBFT4Audited = protocol_state_machine(_audited, ENTRY.properties, name="PBFT4Audited")
PBFT4Audited.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])

TestPBFT4 = PBFT4.TestCase
TestPBFT7 = PBFT7.TestCase
TestPBFT10 = PBFT10.TestCase
TestPBFT4Audited = PBFT4Audited.TestCase


def test_the_suites_cover_the_safety_properties() -> None:
    """The machines assert every ALWAYS property of the entry."""
    assert {p.id for p in ENTRY.properties if p.kind is Kind.ALWAYS} == SAFETY_IDS


@pytest.mark.parametrize(("mutant", "broken"), [("commit-without-prepared", r"PBFT-S[23]")])
def test_a_mutant_makes_the_machine_fail(mutant: str, broken: str) -> None:
    """The suite is only trusted because it rejects a deliberately broken protocol."""
    machine = protocol_state_machine(lambda: _model(4, 0, 0, 0, mutant), ENTRY.properties,
                                     name=f"Mutant_{mutant.replace('-', '_')}")
    with pytest.raises(AssertionError, match=broken):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=300, stateful_step_count=20, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))


def test_ignoring_an_equivocating_primary_makes_the_audited_machine_fail() -> None:
    """PBFT-A2 in random runs: a replica that keeps quiet about conflicting pre-prepares is caught."""
    machine = protocol_state_machine(lambda: _audited(PrimaryEquivocationIgnored), ENTRY.properties,
                                     name="Mutant_primary_equivocation_ignored")
    with pytest.raises(AssertionError, match=r"PBFT-A2"):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=300, stateful_step_count=20, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))


def test_counting_unverified_bundled_votes_makes_the_linear_machine_fail() -> None:
    """Linear communication in random runs: forged bundles of a Byzantine collector are caught."""
    machine = protocol_state_machine(lambda: ActorModel(
        build_checked(4, 1, BundledVotesUnverified, communication="linear", adversary="primary"),
        CheckConfig(network="multiset", byzantine=frozenset({"a0"}))), ENTRY.properties,
        name="Mutant_bundled_votes_unverified")
    with pytest.raises(AssertionError, match=r"PBFT-(S1|S2|S3|A1) "):  # what the checker finds broken
        run_state_machine_as_test(machine, settings=settings(
            max_examples=300, stateful_step_count=20, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))


def test_a_replica_that_forgets_what_it_signed_makes_the_machine_fail() -> None:
    """PBFT-S9 in random runs with a crash-recover fault: a restart without stable storage is caught."""
    machine = protocol_state_machine(lambda: _model(4, 0, 0, 1, "forgets-on-crash", recoveries=1),
                                     ENTRY.properties, name="Mutant_forgets_on_crash")
    with pytest.raises(AssertionError, match=r"PBFT-S9"):
        run_state_machine_as_test(machine, settings=settings(
            max_examples=300, stateful_step_count=20, deadline=None, database=None,
            phases=[Phase.generate], suppress_health_check=[HealthCheck.too_slow]))
