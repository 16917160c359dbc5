"""Weighted voting: configuration, messages, re-votes, equivocation, instances, model checks, proofs."""

from __future__ import annotations

import importlib.util
import math
import re
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import msgspec
import pytest
from reduction_audit import audit

import tla
from mabeam.api.proofs import prove_unsat
from mabeam.api.session import run_protocol
from mabeam.api.verify import build_model, check_protocol
from mabeam.checker import ActorModel, CheckConfig, check
from mabeam.core import (
    ConfigurationError,
    Decide,
    EmptyAgentPoolError,
    Evidence,
    InsufficientReplicasError,
    InvalidWeightError,
    Kind,
    MalformedMessageError,
    Membership,
    Reject,
    Send,
    Snapshot,
    UnknownAgentError,
    changed_agents,
)
from mabeam.core.properties import StatesBeforeStep
from mabeam.live.strategy import Strategy
from mabeam.models import weighted as z3_model
from mabeam.protocols.weighted import (
    ENTRY,
    PHASES,
    PROPERTIES,
    Vote,
    WeightedAdversary,
    WeightedState,
    WeightedVoting,
    build,
)
from mabeam.protocols.weighted.mutants import TrustSelfReportedWeight
from mabeam.protocols.weighted.properties import one_counted_vote_per_member

ROOT = Path(__file__).resolve().parents[1]
IDS = [p.id for p in PROPERTIES]
GROUP = Membership(["a", "b", "c", "d"])
INPUTS = {"a": "x", "b": "x", "c": "y", "d": "y"}
WEIGHTS = {"a": 5, "b": 2, "c": 1, "d": 1}


def voting(weights: object = WEIGHTS, **kwargs: object) -> WeightedVoting:
    return WeightedVoting(GROUP, INPUTS, weights, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ configuration
@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), -math.inf, True, "3", None, Decimal("NaN"),
                                 Decimal("-Infinity"), Decimal("-0.5")])
def test_each_invalid_weight_is_a_typed_error(bad: object) -> None:
    with pytest.raises(InvalidWeightError):
        voting({**WEIGHTS, "c": bad})


def test_all_zero_and_missing_weights_are_refused() -> None:
    with pytest.raises(InvalidWeightError, match="total"):
        voting({a: 0 for a in GROUP})
    with pytest.raises(InvalidWeightError, match="missing"):
        voting({"a": 1, "b": 1, "c": 1})
    with pytest.raises(InvalidWeightError):
        voting([1, 2, 3, 4])


def test_unknown_agents_and_empty_pool_are_refused() -> None:
    with pytest.raises(UnknownAgentError, match="mallory"):
        voting({**WEIGHTS, "mallory": 1})
    with pytest.raises(UnknownAgentError, match="mallory"):
        WeightedVoting(GROUP, {**INPUTS, "mallory": "x"}, WEIGHTS)
    with pytest.raises(EmptyAgentPoolError):
        WeightedVoting([], {}, {})
    with pytest.raises(ConfigurationError, match="missing"):
        WeightedVoting(GROUP, {"a": "x"}, WEIGHTS)


@pytest.mark.parametrize("mode, threshold", [
    ("byzantine", Fraction(1, 2)), ("byzantine", Fraction(2, 3) - Fraction(1, 10**9)), ("byzantine", 1),
    ("crash", Fraction(2, 5)), ("crash", Fraction(3, 2)), ("crash", float("nan")), ("byzantine", True),
])
def test_thresholds_outside_the_safe_range_are_refused(mode: str, threshold: object) -> None:
    with pytest.raises(ConfigurationError, match="threshold"):
        voting(mode=mode, threshold=threshold)


def test_safe_thresholds_and_modes() -> None:
    assert voting().threshold == Fraction(2, 3)
    assert voting(mode="crash").threshold == Fraction(1, 2)
    assert voting(threshold=Fraction(3, 4)).quorum_weight == Fraction(27, 4)
    with pytest.raises(ConfigurationError, match="mode"):
        voting(mode="optimistic")


def test_faulty_weight_of_a_third_or_more_is_refused() -> None:
    assert voting(max_faulty_weight=Fraction(29, 10)).max_faulty_weight == Fraction(29, 10)
    for bound in (3, 4, Fraction(9, 3)):
        with pytest.raises(InsufficientReplicasError, match="1/3"):
            voting(max_faulty_weight=bound)
    with pytest.raises(ConfigurationError):
        voting(max_faulty_weight=-1)
    with pytest.raises(ConfigurationError, match="crash mode"):
        voting(mode="crash", max_faulty_weight=1)
    protocol = voting(max_faulty_weight=1)
    assert protocol.tolerates({"d"}) and not protocol.tolerates({"b"})


def test_threshold_arithmetic_is_exact() -> None:
    """0.1 + 0.2 != 0.3 in floats; weights are exact, so a value exactly on 2/3 never decides."""
    thirds = {"a": Fraction(1, 3), "b": Fraction(1, 3), "c": Fraction(1, 3), "d": 0}
    protocol = voting(thirds)
    state = protocol.start("a").state
    step = protocol.receive("a", state, Vote(session="s0", sender="b", value="x"))
    assert step.state.decided is None  # 2/3 of the weight is not strictly more than 2/3
    floats = voting({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.0}, mode="crash")
    assert floats.total_weight == Fraction(0.1) + Fraction(0.2) + Fraction(0.3)


# ------------------------------------------------------------------ messages
def test_malformed_bytes_are_rejected_by_the_codec() -> None:
    codec = build(4, 1).codec
    good = Vote(session="s0", sender="a1", value="x")
    assert codec.decode(codec.encode(good)) == good
    bad = [
        b"", b"\xc1", good.canonical()[:-2],
        msgspec.msgpack.encode({"type": "weighted.vote", "session": "s0", "sender": "a1"}),
        msgspec.msgpack.encode({"type": "weighted.vote", "session": "s0", "sender": "a1", "value": ""}),
        msgspec.msgpack.encode({"type": "weighted.vote", "session": "s0", "sender": "a1", "value": 7}),
        msgspec.msgpack.encode({"type": "weighted.ballot", "session": "s0", "sender": "a1", "value": "x"}),
        msgspec.msgpack.encode({"type": "weighted.vote", "session": "s0", "sender": "a1", "value": "x",
                                "weight": 9}),  # a self-reported weight is not even decodable
    ]
    for data in bad:
        with pytest.raises(MalformedMessageError):
            codec.decode(data)


def test_screening_rejects_without_changing_state() -> None:
    protocol = voting()
    state = protocol.start("a").state
    for reason, message in {"wrong-session": Vote(session="old", sender="b", value="x"),
                            "unknown-sender": Vote(session="s0", sender="mallory", value="x"),
                            "own-message": Vote(session="s0", sender="a", value="y")}.items():
        assert protocol.receive("a", state, message) == (state, (Reject(reason, message),))


# ------------------------------------------------------------------ re-votes and equivocation
def test_a_revote_never_counts_twice() -> None:
    protocol = voting()
    state = protocol.start("c").state
    vote = Vote(session="s0", sender="d", value="y")
    once = protocol.receive("c", state, vote)
    twice = protocol.receive("c", once.state, vote)
    assert twice.state is once.state and twice.effects == ()
    assert protocol.support(twice.state, "y") == 2


def test_equivocation_keeps_the_first_vote_and_yields_evidence_once() -> None:
    protocol = voting()
    first = Vote(session="s0", sender="d", value="x")
    second = Vote(session="s0", sender="d", value="y")
    state = protocol.receive("b", protocol.start("b").state, first).state
    step = protocol.receive("b", state, second)
    assert step.effects == (Evidence("equivocation", "d", (first, second)),)
    assert step.state.votes[GROUP.index("d")] == "x" and protocol.support(step.state, "y") == 0
    assert protocol.receive("b", step.state, second) == (step.state, ())


def test_decides_only_strictly_above_the_threshold_and_then_ignores_votes() -> None:
    protocol = voting()  # W = 9, needs > 6
    state = protocol.start("a").state
    on_the_line = protocol.receive("a", state, Vote(session="s0", sender="d", value="x"))
    assert on_the_line.state.decided is None  # 5 + 1 = 6 = 2/3 W
    decided = protocol.receive("a", on_the_line.state, Vote(session="s0", sender="b", value="x"))
    assert decided.effects == (Decide("x"),) and decided.state.phase == "decided"
    assert protocol.receive("a", decided.state, Vote(session="s0", sender="c", value="y")).state is decided.state


# ------------------------------------------------------------------ node state and units
def test_integer_units_are_exact_for_fractional_weights_and_thresholds() -> None:
    """Weights 1/3, 1, 1/7, 0.1 and threshold 5/7 all become whole units; nothing is rounded."""
    protocol = voting({"a": Fraction(1, 3), "b": 1, "c": Fraction(1, 7), "d": 0.1}, threshold=Fraction(5, 7))
    assert all(Fraction(u, protocol.unit_scale) == protocol.weights[a]
               for a, u in zip(protocol.agents, protocol.weight_units))
    assert Fraction(protocol.quorum_units, protocol.unit_scale) == protocol.quorum_weight
    assert Fraction(protocol.total_units, protocol.unit_scale) == protocol.total_weight
    assert protocol.weight_of(["a", "b", "a"]) == Fraction(4, 3)


def test_votes_are_recorded_by_member_position_and_support_is_kept_per_value() -> None:
    protocol = voting({"a": Fraction(1, 2), "b": Fraction(1, 3), "c": Fraction(1, 5), "d": Fraction(1, 7)})
    state = protocol.start("c").state
    for sender, value in (("a", "x"), ("d", "y"), ("a", "x"), ("d", "x")):
        state = protocol.receive("c", state, Vote(session="s0", sender=sender, value=value)).state
    assert state.votes == ("x", None, "y", "y")
    assert [(v, Fraction(u, protocol.unit_scale)) for v, u in state.support] == [
        ("x", Fraction(1, 2)), ("y", Fraction(1, 5) + Fraction(1, 7))]
    assert state.refused == frozenset({("d", "x")})


def _snapshot(protocol: WeightedVoting, state: WeightedState) -> Snapshot:
    return Snapshot(protocol, {a: state if a == "a" else None for a in protocol.agents})


def test_one_counted_vote_checks_the_support_against_the_configured_weights() -> None:
    """WV-S4 recomputes each value's weight from the configuration, so a support the
    machine got wrong (a double count, an outsider's weight, a stray value) is a violation."""
    protocol = voting()  # weights 5, 2, 1, 1
    unit = protocol.unit_scale
    good = WeightedState("voting", ("x", "x", None, "y"), (("x", 7 * unit), ("y", unit)))
    assert one_counted_vote_per_member.holds(_snapshot(protocol, good))
    for broken in (
        msgspec.structs.replace(good, support=(("x", 9 * unit), ("y", unit))),  # b counted twice
        msgspec.structs.replace(good, support=(("x", 8 * unit), ("y", unit))),  # an outsider's 1 on x
        msgspec.structs.replace(good, support=(("x", 7 * unit), ("y", unit), ("z", 0))),  # nobody voted z
        msgspec.structs.replace(good, support=(("x", 7 * unit),)),  # d's vote credited to nothing
        msgspec.structs.replace(good, votes=("x", "x", None)),  # not one slot per member
        msgspec.structs.replace(good, refused=frozenset({("d", "y")})),  # a refused vote is counted
        msgspec.structs.replace(good, refused=frozenset({("mallory", "y")})),  # an outsider was heard
    ):
        assert not one_counted_vote_per_member.holds(_snapshot(protocol, broken)), broken


def test_the_protocol_object_does_not_grow_with_traffic() -> None:
    """Configuration only: no memo keyed by tallies or voter sets survives a run."""
    protocol = build(100, 0)

    def sizes() -> dict[str, object]:
        return {name: len(value) if hasattr(value, "__len__") else type(value)
                for name, value in vars(protocol).items()}

    before = sizes()
    result = run_protocol(protocol, monitor="decision")
    assert result.status == "decided" and len(result.decisions) == 100 and not result.violations()
    assert sizes() == before


# ------------------------------------------------------------------ instances
def test_next_instance_has_new_weights_and_session_and_refuses_old_votes() -> None:
    first = voting(max_faulty_weight=1)
    second = first.next_instance({"a": 1, "b": 1, "c": 3, "d": 1})
    assert second.session == "s0#1" and second.next_instance(WEIGHTS).session == "s0#2"
    assert second.weights["c"] == 3 and first.weights["c"] == 1  # the old instance is untouched
    assert second.threshold == first.threshold and second.inputs == first.inputs
    old_vote = Vote(session=first.session, sender="b", value="x")
    state = second.start("a").state
    assert second.receive("a", state, old_vote).effects == (Reject("wrong-session", old_vote),)
    with pytest.raises(InvalidWeightError):
        first.next_instance({**WEIGHTS, "a": -2})
    with pytest.raises(InsufficientReplicasError):
        first.next_instance({"a": 1, "b": 1, "c": 1, "d": 0})  # the faulty bound 1 is now W/3
    with pytest.raises(ConfigurationError, match="different"):
        first.next_instance(WEIGHTS, session="s0")


# ------------------------------------------------------------------ phase graph and spec
def test_spec_embeds_the_declared_phase_graph_and_cites_every_property() -> None:
    spec = (ROOT / "spec" / "weighted.md").read_text()
    assert f"```mermaid\n{PHASES.mermaid()}\n```" in spec
    for p in PROPERTIES:
        assert f"{p.id} {p.name}" in spec
    tla_text = (ROOT / ENTRY.companions.tla).read_text()
    for p in PROPERTIES:
        assert p.id.replace("-", "_") in tla_text


def _hypothesis_suite() -> ModuleType:
    """The Hypothesis suite, loaded from its companion path (a pytest module, not a package)."""
    spec = importlib.util.spec_from_file_location("weighted_props", ROOT / ENTRY.companions.hypothesis_suite)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_hypothesis_suite_asserts_every_safety_property() -> None:
    suite = _hypothesis_suite()
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == suite.SAFETY_IDS
    assert suite.PROPERTIES is PROPERTIES  # its machines assert the protocol's own predicates


def test_the_machine_declares_its_properties_and_adversary() -> None:
    """Drivers read the properties and the checker's adversary from the protocol class."""
    assert WeightedVoting.properties is PROPERTIES is ENTRY.properties
    assert isinstance(WeightedVoting.adversary, WeightedAdversary)
    protocol = build(4, 1)
    injected = list(type(protocol).adversary.messages(protocol, "a3"))
    assert len(injected) == len(protocol.candidates) * 3
    assert {e.message.sender for e in injected} == {"a3"} and "a3" not in {e.to for e in injected}
    forged = list(type(protocol).adversary.forged(protocol))
    assert [e.to for e in forged] == list(protocol.agents) and {e.message.sender for e in forged} == {"intruder"}
    boasting = build(4, 1, TrustSelfReportedWeight)
    claims = {e.message.weight for e in type(boasting).adversary.messages(boasting, "a3")}  # type: ignore[attr-defined]
    assert claims == {int(boasting.total_weight)}


def test_tla_spec_parses_and_the_cfg_names_its_definitions() -> None:
    text = (ROOT / ENTRY.companions.tla).read_text()
    tla.parse(text)
    cfg = (ROOT / ENTRY.companions.tla_cfg).read_text()
    names = re.findall(r"^\s+(WV_\w+|TypeOK)\s*$", cfg, re.MULTILINE)
    assert {"WV_S1_Agreement", "WV_S2_Validity", "WV_S3_Integrity", "WV_S4_OneCountedVote",
            "WV_S5_DecisionBacked", "WV_L1_Termination"} <= set(names)
    for name in names:
        assert re.search(rf"^{name} ==", text, re.MULTILINE), name


# ------------------------------------------------------------------ model checking
def test_full_check_holds_for_four_agents_one_byzantine() -> None:
    result = check_protocol("weighted", 4, 1)
    assert result.stats.complete and result.stats.distinct_states > 1000
    assert {r.property.id: r.status for r in result.results} == {
        "WV-S1": "holds", "WV-S2": "holds", "WV-S3": "holds", "WV-S4": "holds", "WV-S5": "holds",
        "WV-T1": "holds", "WV-R1": "reached", "WV-L1": "holds",
        "WV-C1": "not-checked", "WV-C2": "not-checked", "WV-R2": "not-checked"}  # linear mode only


def test_full_check_holds_for_three_agents_and_in_crash_mode() -> None:
    assert check_protocol("weighted", 3, 0).ok
    protocol = build(3, 0, mode="crash")  # weights 3, 2, 1: a0 alone sits exactly on W/2
    result = check(ActorModel(protocol, CheckConfig(network="duplicating", max_crashes=1, intruder=True)),
                   PROPERTIES)
    assert result.stats.complete and result.ok
    assert result.result_for("WV-L1").status == "holds" and result.result_for("WV-R1").status == "reached"


@pytest.mark.parametrize("name", [m.name for m in ENTRY.mutants])
def test_every_mutant_is_caught_with_a_counterexample(name: str) -> None:
    mutant = ENTRY.mutant(name)
    result = check_protocol("weighted", mutant=name)
    caught = [r for r in result.results if r.property.id in mutant.breaks and r.status == "violated"]
    assert caught and all(r.trace is not None and len(r.trace) >= 1 for r in caught), result.failures()
    assert result.stats.complete
    for goal in (p for p in PROPERTIES if p.kind is Kind.SOMETIMES and p.id in mutant.breaks):
        assert result.result_for(goal.id).status == "unreached"  # exhaustively: no run ever decides


def test_every_property_is_broken_by_some_mutant() -> None:
    assert {i for m in ENTRY.mutants for i in m.breaks} == set(IDS)


def test_double_count_needs_a_redelivery() -> None:
    """On a multiset network the double count shows only when the network may duplicate a vote."""
    without = check_protocol("weighted", mutant="double-count-revote", network="multiset", intruder=False)
    with_dup = check_protocol("weighted", mutant="double-count-revote", network="multiset", intruder=False,
                              duplicates=1)
    assert without.result_for("WV-S4").status == "holds"
    assert with_dup.result_for("WV-S4").status == "violated"


# ------------------------------------------------------------------ Z3
def test_z3_proofs_all_hold_and_cite_property_ids() -> None:
    results = z3_model.run()
    assert results and all(r.ok for r in results), [r.to_json() for r in results if not r.ok]
    assert {r.id for r in results} <= set(IDS)
    assert {"WV-S1", "WV-S2", "WV-L1"} <= {r.id for r in results}
    assert sum(r.seconds for r in results) < 20


def test_z3_broken_thresholds_are_refuted() -> None:
    assert z3_model.refuted_crash_variant().status == "refuted"
    assert z3_model.refuted_byzantine_variant().status == "refuted"
    broken = prove_unsat("WV-S1", "Byzantine, threshold 1/2, n = 4",
                         z3_model.enumerated_agreement(4, Fraction(1, 2), byzantine=True))
    assert broken.status == "refuted"


# ------------------------------------------------------------------ the step property WV-T1
def test_only_the_step_property_sees_the_latest_vote_replace_the_first() -> None:
    """``latest-vote-counts`` keeps every state consistent (each state property holds) and is caught
    only on the step that rewrites a counted vote: a1 counts a2's x, then a2's y replaces it."""
    result = check_protocol("weighted", mutant="latest-vote-counts")
    assert result.stats.complete
    assert [r.property.id for r in result.failures()] == ["WV-T1"]
    trace = result.result_for("WV-T1").trace
    assert trace is not None and len(trace) == 2
    last = trace.steps[-1]
    assert last.action is not None and last.action.kind == "deliver" and last.action.agent == "a1"
    assert last.action.detail.message.sender == "a2"


def test_the_step_property_judges_steps_not_states() -> None:
    """WV-T1 compares the two sides of a step: the same votes hold, a revised vote does not."""
    protocol = build(3, 1)
    before = WeightedState("voting", ("x", "y", None), (("x", 7), ("y", 1)))
    revised = WeightedState("voting", ("x", "x", None), (("x", 8),))
    extended = WeightedState("voting", ("x", "y", "y"), (("x", 7), ("y", 2)))
    step = next(p for p in PROPERTIES if p.id == "WV-T1")

    def at_a1(state: WeightedState) -> Snapshot:
        return Snapshot(protocol, {"a0": None, "a1": state, "a2": None}, byzantine=frozenset({"a2"}))

    assert step.holds_on_step(at_a1(before), None, at_a1(extended))
    assert not step.holds_on_step(at_a1(before), None, at_a1(revised))


class _TellsA1TwoVotes(Strategy):
    """A Byzantine voter that tells a1 first x, then y (nobody else hears from it)."""

    def __init__(self, agent: str, session: str) -> None:
        super().__init__(agent)
        self.session = session

    def on_start(self) -> tuple[Send, ...]:
        return tuple(Send("a1", Vote(session=self.session, sender=self.agent, value=v)) for v in ("x", "y"))


@pytest.mark.parametrize("driver", ["simulator", "runtime"])
def test_the_live_monitor_catches_a_revised_vote_on_the_step(driver: str) -> None:
    """WV-T1 judged live, on the O(1) before-step snapshot: the latest-vote mutant is caught on a1's
    step that replaces the Byzantine member's first vote, and the honest machine is not (a0, whose
    weight decides alone, crashes at the start so that a1 keeps voting)."""
    for mutant, verdict in ((None, "holds"), ("latest-vote-counts", "violated")):
        protocol = build_model(ENTRY, mutant=mutant).protocol
        bad = protocol.agents[-1]
        result = run_protocol(protocol, driver, seed=0, crashes={"a0": 0.0},
                              byzantine={bad: _TellsA1TwoVotes(bad, protocol.session)}, timeout=2.0)
        assert result.properties["WV-T1"]["status"] == verdict, (mutant, result.properties["WV-T1"])
        assert [(e.kind, e.against, e.reporter) for e in result.evidence] == [("equivocation", bad, "a1")]


def test_changed_agents_reads_a_live_step_in_constant_time() -> None:
    """``changed_agents`` on a live step's snapshot pair names the stepping agent (or nobody, if its
    state object stayed), without comparing every member; on plain mappings it compares them all."""
    after = {"a0": object(), "a1": object(), "a2": None}
    old = object()
    before = StatesBeforeStep(after, "a1", old)
    assert list(before) == ["a0", "a1", "a2"] and len(before) == 3 and before["a1"] is old
    assert before["a0"] is after["a0"] and before.get("zz") is None
    assert list(changed_agents(before, after)) == ["a1"]
    assert list(changed_agents(StatesBeforeStep(after, "a1", after["a1"]), after)) == []
    assert list(changed_agents(dict(before), after)) == ["a1"]  # the general path agrees
    assert list(changed_agents({"a2": None, "a1": old, "a0": after["a0"]}, after)) == ["a1"]


# ------------------------------------------------------------------ state-space reduction declarations
@pytest.mark.parametrize("mutant", [None, *(m.name for m in ENTRY.mutants)], ids=lambda m: m or "standard")
def test_reduction_declarations_hold_on_every_reachable_world(mutant: str | None) -> None:
    """``reads`` and ``sends_no_more`` audited on every reachable world (``tests/reduction_audit.py``);
    Byzantine mode declares no symmetry (which members are Byzantine is the check's choice)."""
    model = build_model(ENTRY, mutant=mutant)
    worlds, silent, generators = audit(model, ENTRY.properties)
    honest = len(model.honest)
    if getattr(model.protocol, "communication", "") == "linear":  # only decided nodes are silent there
        assert 0 < silent < honest * worlds and generators == 0
    else:
        assert silent == honest * worlds and generators == 0


def test_linear_mode_reduction_declarations_hold_on_every_reachable_world() -> None:
    model = build_model(ENTRY, factory=lambda n, f: build(n, f, communication="linear"))
    worlds, silent, generators = audit(model, ENTRY.properties)
    assert worlds > 1000 and 0 < silent < len(model.honest) * worlds and generators == 0


def test_crash_mode_declares_members_with_equal_inputs_and_weights_interchangeable() -> None:
    protocol = WeightedVoting(Membership.of_size(4), {"a0": "x", "a1": "x", "a2": "y", "a3": "y"},
                              {"a0": 1, "a1": 1, "a2": 1, "a3": 2}, mode="crash")
    assert set(protocol.symmetry()) == {frozenset({"a0", "a1"})}
    model = ActorModel(protocol, CheckConfig(network="duplicating", max_crashes=1))
    worlds, _silent, generators = audit(model, PROPERTIES)
    assert worlds > 100 and generators == 1
    assert build(4, 1).symmetry() == ()
