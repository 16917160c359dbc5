"""Simple majority voting: handlers, configuration errors, the exhaustive check, mutants, Z3.

Spec: ``spec/majority.md``. The exhaustive check is the n = 3, f = 1 configuration
of ``mabeam check majority``; every mutant must be rejected with a counterexample
whose trace replays, from its JSON form, to a state that still breaks the property.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

import msgspec
import pytest
from reduction_audit import audit

from mabeam.api.proofs import run_proofs
from mabeam.api.verify import build_model, check_protocol
from mabeam.checker import CheckResult, replay_actions
from mabeam.checker.results import Trace
from mabeam.checker.symmetry import Symmetry
from mabeam.core import (
    ConfigurationError,
    Decide,
    DuplicateAgentError,
    EmptyAgentPoolError,
    Evidence,
    Kind,
    MalformedMessageError,
    Membership,
    Message,
    Reject,
    canonical_bytes,
)
from mabeam.core.catalog import Mutant
from mabeam.core.properties import Property
from mabeam.protocols.majority import (
    ENTRY,
    PHASES,
    PROPERTIES,
    MajorityAdversary,
    MajorityState,
    MajorityVoting,
    Vote,
    build,
    quorum,
)

INPUTS = {"a0": "x", "a1": "x", "a2": "y", "a3": "y", "a4": "y"}
ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "majority.md"


@cache
def mutant_check(name: str) -> CheckResult:
    """One exhaustive check per mutant, shared by the tests of this module."""
    return check_protocol("majority", mutant=name)


class Chat(Message, frozen=True, tag="test.chat"):
    text: str


@pytest.fixture
def five() -> MajorityVoting:
    return MajorityVoting(Membership.of_size(5), INPUTS)


def vote(sender: str, value: str, session: str = "s0") -> Vote:
    return Vote(session=session, sender=sender, value=value)


# ------------------------------------------------------------------ handlers
def test_start_counts_own_vote_and_broadcasts_it(five: MajorityVoting) -> None:
    state, effects = five.start("a2")
    assert state == MajorityState("voting", (None, None, "y", None, None), (("y", 1),))
    assert len(effects) == 1 and effects[0].message == vote("a2", "y")


def test_decides_on_a_strict_majority_and_not_before(five: MajorityVoting) -> None:
    state = five.start("a2").state
    state, effects = five.receive("a2", state, vote("a3", "y"))
    assert state.phase == "voting" and effects == ()  # 2 of 5 is no majority
    state, effects = five.receive("a2", state, vote("a4", "y"))
    assert state.phase == "decided" and state.decided == "y"
    assert effects == (Decide("y"),)
    assert PHASES.allows("voting", "quorum", "decided")


def test_spec_embeds_the_declared_phase_graph() -> None:
    assert PHASES.mermaid() in SPEC.read_text()


def test_a_revote_is_idempotent(five: MajorityVoting) -> None:
    state = five.receive("a2", five.start("a2").state, vote("a3", "y")).state
    again = five.receive("a2", state, vote("a3", "y"))
    assert again.state == state and again.effects == ()
    assert again.state.support_for("y") == 2


def test_equivocation_yields_evidence_and_is_not_counted(five: MajorityVoting) -> None:
    state = five.receive("a2", five.start("a2").state, vote("a3", "y")).state
    step = five.receive("a2", state, vote("a3", "x"))
    assert step.state == state
    (evidence,) = step.effects
    assert isinstance(evidence, Evidence)
    assert evidence.kind == "equivocation" and evidence.against == "a3"
    assert evidence.proof == (vote("a3", "y"), vote("a3", "x"))


def test_a_decided_agent_ignores_further_votes(five: MajorityVoting) -> None:
    state = five.start("a2").state
    for sender in ("a3", "a4"):
        state = five.receive("a2", state, vote(sender, "y")).state
    assert five.receive("a2", state, vote("a0", "x")) == (state, ())


@pytest.mark.parametrize(("message", "reason"), [
    (vote("intruder", "y"), "unknown-sender"),
    (vote("a3", "y", session="another"), "wrong-session"),
    (Chat(session="s0", sender="a3", text="hello"), "foreign-message-type"),
    (vote("a2", "x"), "own-message"),
])
def test_screening_rejects_with_a_reason(five: MajorityVoting, message: Message, reason: str) -> None:
    state = five.start("a2").state
    step = five.receive("a2", state, message)
    assert step.state is state
    assert step.effects == (Reject(reason, message),)


def test_codec_round_trips_and_rejects_malformed_bytes(five: MajorityVoting) -> None:
    message = vote("a1", "x")
    assert five.codec.decode(five.codec.encode(message)) == message
    wrong_type = canonical_bytes({"type": "majority.vote", "session": "s0", "sender": "a1", "value": 7})
    missing_field = canonical_bytes({"type": "majority.vote", "session": "s0", "sender": "a1"})
    unknown_tag = canonical_bytes({"type": "majority.nope", "session": "s0", "sender": "a1", "value": "x"})
    for data in (b"", b"\xc1garbage", wrong_type, missing_field, unknown_tag, msgspec.json.encode(message)):
        with pytest.raises(MalformedMessageError):
            five.codec.decode(data)
    with pytest.raises(MalformedMessageError):
        five.codec.decode("not bytes")  # type: ignore[arg-type]


# -------------------------------------------------------------- declarations
def test_the_machine_declares_its_properties_and_adversary() -> None:
    """Drivers read the properties and the checker's adversary from the protocol class."""
    assert MajorityVoting.properties is PROPERTIES is ENTRY.properties
    assert isinstance(MajorityVoting.adversary, MajorityAdversary)
    protocol = build(3, 1)
    assert list(MajorityVoting.adversary.messages(protocol, "a2")) == []  # crash faults: silent
    forged = list(MajorityVoting.adversary.forged(protocol))
    assert [e.to for e in forged] == list(protocol.agents)
    assert {(e.message.sender, e.message.value) for e in forged} == {("intruder", "forged")}


def test_the_quorum_is_a_strict_majority_for_every_size() -> None:
    for n in range(1, 50):
        assert 2 * quorum(n) > n >= 2 * (quorum(n) - 1)
        assert MajorityVoting(Membership.of_size(n), {a: "x" for a in Membership.of_size(n)}).quorum == quorum(n)


def test_the_hypothesis_suite_asserts_every_safety_property() -> None:
    spec = importlib.util.spec_from_file_location("majority_props", ROOT / ENTRY.companions.hypothesis_suite)
    assert spec is not None and spec.loader is not None
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == suite.SAFETY_IDS
    assert suite.ENTRY is ENTRY  # its machines assert the entry's own predicates


# -------------------------------------------------------------- configuration
def test_configuration_errors() -> None:
    with pytest.raises(EmptyAgentPoolError):
        MajorityVoting([], {})
    with pytest.raises(DuplicateAgentError):
        MajorityVoting(["a0", "a1", "a0"], {"a0": "x", "a1": "x"})
    with pytest.raises(ConfigurationError, match="missing"):
        MajorityVoting(Membership.of_size(3), {"a0": "x", "a1": "x"})
    with pytest.raises(ConfigurationError, match="unknown"):
        MajorityVoting(Membership.of_size(2), {"a0": "x", "a1": "x", "zz": "y"})
    with pytest.raises(ConfigurationError, match="string"):
        MajorityVoting(Membership.of_size(2), {"a0": "x", "a1": 3})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError, match="f < n/2"):
        build(4, 2)  # two crashes out of four can leave no majority
    with pytest.raises(ConfigurationError):
        build(3, -1)
    with pytest.raises(ConfigurationError):
        check_protocol("majority", 5, 3)
    assert build(5, 2).crash_tolerance() == 2


# --------------------------------------------------------- exhaustive check
def test_exhaustive_check_holds_for_three_agents_one_crash() -> None:
    result = check_protocol("majority", 3, 1)
    assert result.stats.complete and result.stats.distinct_states > 100
    verdicts = {r.property.id: r.status for r in result.results}
    assert verdicts == {"MAJ-S1": "holds", "MAJ-S2": "holds", "MAJ-S3": "holds", "MAJ-S4": "holds",
                        "MAJ-S5": "holds", "MAJ-R1": "reached", "MAJ-L1": "holds"}
    assert result.ok


def _violates_at_end(trace: Trace, prop: Property, mutant: Mutant) -> bool:
    """Replayed by its action keys in a fresh model, the trace ends in a violating state."""
    fresh = build_model(ENTRY, mutant=mutant.name)
    replayed = replay_actions(fresh, [step.action.key() for step in trace.steps[1:]])
    return not prop.holds(fresh.snapshot(replayed.steps[-1].world))


def _is_liveness_counterexample(trace: Trace, prop: Property, mutant: Mutant) -> bool:
    """The goal never holds on the trace, and it ends in a cycle or where no fair step is enabled."""
    model = trace.model
    if any(prop.holds(model.snapshot(step.world)) for step in trace.steps):
        return False
    last = trace.steps[-1].world
    if trace.loop_start is not None:
        return last == trace.steps[trace.loop_start].world
    return not any(t.fair for t in model.transitions(last))


@pytest.mark.parametrize("mutant", ENTRY.mutants, ids=lambda m: m.name)
def test_every_mutant_is_caught_with_a_counterexample(mutant: Mutant) -> None:
    result = mutant_check(mutant.name)
    caught = [r for r in result.failures() if r.property.id in mutant.breaks and r.trace is not None]
    assert caught, f"{mutant.name} was not caught on any of {mutant.breaks}"
    for r in caught:
        assert r.trace.steps, "a counterexample needs at least its initial state"
        if r.property.kind is Kind.ALWAYS:
            assert _violates_at_end(r.trace, r.property, mutant)
        else:
            assert _is_liveness_counterexample(r.trace, r.property, mutant)


@pytest.mark.parametrize(("mutant", "property_id"), [
    ("forget-decision", "MAJ-S1"),
    ("accept-unknown-sender", "MAJ-S4"),
    ("wait-for-everyone", "MAJ-L1"),
])
def test_json_counterexample_replays_to_a_violation(mutant: str, property_id: str) -> None:
    found = mutant_check(mutant).result_for(property_id)
    assert found.status == "violated"
    recorded = json.loads(json.dumps(found.trace.to_json()))  # as written by `check --trace-out`
    fresh_model = build_model("majority", mutant=mutant)
    replayed = replay_actions(fresh_model, [step["action"] for step in recorded["steps"]])
    assert len(replayed) == len(found.trace) >= 1
    assert [s.world for s in replayed.steps] == [s.world for s in found.trace.steps]
    final = fresh_model.snapshot(replayed.steps[-1].world)
    assert not found.property.holds(final)


# ------------------------------------------------------------------ Z3 proofs
def test_z3_proofs_all_prove_and_cite_properties() -> None:
    results = run_proofs("majority")
    assert results and all(r.status == "proved" for r in results), [r for r in results if not r.ok]
    known = {p.id for p in ENTRY.properties}
    assert {r.id for r in results} <= known
    assert {"MAJ-S1", "MAJ-L1"} <= {r.id for r in results}
    enumerated = [r for r in results if "enumerated" in r.name]
    assert len(enumerated) == 12


def test_z3_check_bites_on_the_off_by_one_quorum() -> None:
    from mabeam.models.majority import refuted_variant

    variant = refuted_variant()
    assert variant.status == "refuted" and "counterexample" in variant.detail


# ------------------------------------------------------------------ state-space reduction declarations
@pytest.mark.parametrize("mutant", [None, *(m.name for m in ENTRY.mutants)], ids=lambda m: m or "standard")
def test_reduction_declarations_hold_on_every_reachable_world(mutant: str | None) -> None:
    """``reads``, ``sends_no_more`` and ``symmetry`` (a1 and a2 vote y) audited on every reachable
    world of the standard check and of each mutant's (see ``tests/reduction_audit.py``)."""
    worlds, silent, generators = audit(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    assert silent == 3 * worlds  # every started voter is silent: it broadcast at start
    assert generators == 1


def test_symmetry_renames_the_per_member_vote_tuple() -> None:
    """Swapping a1 and a2 moves their entries of ``votes``; it does not leave them in place."""
    model = build_model(ENTRY)
    sym = Symmetry(model)
    state = MajorityState("voting", ("x", "y", None), (("x", 1), ("y", 1)))
    comp = model._agent_comp((state, frozenset()))
    renamed = model._agents[sym._rename_comp("agent", comp, (0, 2, 1))][0]
    assert renamed.votes == ("x", None, "y") and renamed.support == state.support
