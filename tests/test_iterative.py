"""Approximate agreement: API validation, message screening, runs, checker verdicts, mutants, spec sync."""

from __future__ import annotations

import importlib.util
import math
import re
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from reduction_audit import audit

from mabeam.api.session import run_protocol
from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig, check
from mabeam.core import (
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Evidence,
    InsufficientReplicasError,
    Kind,
    Membership,
    Protocol,
    Reject,
    Send,
    SetTimer,
)
from mabeam.models.iterative import run, sizes
from mabeam.protocols.iterative import (
    ENTRY,
    ONE_ROUND_EPSILON,
    PHASES,
    PROPERTIES,
    ApproximateAgreement,
    IterativeAdversary,
    RoundValue,
    build,
    convergence_history,
    decode,
    encode,
    rounds_needed,
)

ROOT = Path(__file__).resolve().parents[1]
NUMERIC_IDS = {p.id for p in ENTRY.properties}


def _instance(**overrides: Any) -> ApproximateAgreement:
    options: dict[str, Any] = {"membership": Membership.of_size(4), "inputs": {"a0": 0, "a1": 1, "a2": 2, "a3": 3},
                               "faulty": 1, "domain": (0, 4), "epsilon": 1}
    options.update(overrides)
    return ApproximateAgreement(**options)


def run_synchronously(protocol: Protocol, silent: frozenset[str] = frozenset()) -> dict[str, Any]:
    """A tiny FIFO driver: deliver everything in order; fire timers only when nothing is in flight."""
    states: dict[str, Any] = {}
    queue: deque[tuple[str, Any]] = deque()
    timers: dict[str, set[str]] = {a: set() for a in protocol.agents}

    def apply(agent: str, step: Any) -> None:
        states[agent] = step.state
        for effect in step.effects:
            if isinstance(effect, Broadcast):
                queue.extend((to, effect.message) for to in protocol.agents if to != agent and to not in silent)
            elif isinstance(effect, Send) and effect.to not in silent:
                queue.append((effect.to, effect.message))
            elif isinstance(effect, SetTimer):
                timers[agent].add(effect.name)
            elif isinstance(effect, CancelTimer):
                timers[agent].discard(effect.name)

    for agent in protocol.agents:
        if agent not in silent:
            apply(agent, protocol.start(agent))
    for _ in range(10_000):
        if queue:
            to, message = queue.popleft()
            apply(to, protocol.receive(to, states[to], message))
        elif any(timers.values()):
            agent = next(a for a in protocol.agents if timers[a])
            name = timers[agent].pop()
            apply(agent, protocol.fire(agent, states[agent], name))
        else:
            break
    return states


# ------------------------------------------------------------------ configuration
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, True, None, "3", object()])
def test_non_finite_or_non_numeric_inputs_are_configuration_errors(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        _instance(inputs={"a0": bad, "a1": 1, "a2": 2, "a3": 3})
    with pytest.raises(ConfigurationError):
        _instance(epsilon=bad)


def test_configuration_is_validated() -> None:
    with pytest.raises(InsufficientReplicasError):
        _instance(faulty=2)  # n = 4 <= 3f
    with pytest.raises(ConfigurationError, match="outside the domain"):
        _instance(inputs={"a0": 0, "a1": 1, "a2": 2, "a3": 5})
    with pytest.raises(ConfigurationError, match="same dimension"):
        _instance(inputs={"a0": (0, 1), "a1": 1, "a2": 2, "a3": 3})
    with pytest.raises(ConfigurationError, match="missing"):
        _instance(inputs={"a0": 0, "a1": 1, "a2": 2})
    with pytest.raises(ConfigurationError):
        _instance(epsilon=0)
    with pytest.raises(ConfigurationError):
        _instance(domain=(4, 0))
    with pytest.raises(ConfigurationError):
        _instance(max_rounds=0)
    with pytest.raises(ConfigurationError):
        _instance(grace=math.inf)
    with pytest.raises(ConfigurationError, match="empty vector"):
        _instance(inputs={"a0": (), "a1": (), "a2": (), "a3": ()})


def test_round_count_is_ceil_log2_of_width_over_epsilon() -> None:
    assert rounds_needed(Fraction(4), Fraction(1)) == 2
    assert rounds_needed(Fraction(5), Fraction(1)) == 3
    assert rounds_needed(Fraction(1), Fraction(1)) == 0
    assert rounds_needed(Fraction(0), Fraction(1, 3)) == 0
    for width, eps in [(100, 3), (7, Fraction(1, 10)), (1024, 1), (1025, 1)]:
        assert rounds_needed(Fraction(width), Fraction(eps)) == math.ceil(math.log2(width / eps))
    assert _instance().rounds == 2
    assert _instance(max_rounds=1).rounds == 1


def test_wire_encoding_is_canonical() -> None:
    assert encode((Fraction(3, 6), Fraction(-2))) == ((1, 2), (-2, 1))
    assert decode(((1, 2),), 1) == (Fraction(1, 2),)
    assert decode(((2, 4),), 1) is None and decode(((1, 0),), 1) is None and decode(((1, -2),), 1) is None
    assert decode(((1, 2),), 2) is None


# ------------------------------------------------------------------ message screening
def test_malformed_and_foreign_values_are_rejected_and_never_counted() -> None:
    protocol = _instance()
    state = protocol.start("a0").state
    good = RoundValue(session="s0", sender="a1", round=1, value=((1, 1),))
    cases = {
        "bad-round": good.replace(round=3),
        "malformed-value": good.replace(value=((2, 2),)),
        "wrong-session": good.replace(session="other"),
        "unknown-sender": good.replace(sender="mallory"),
        "own-message": good.replace(sender="a0"),
    }
    for reason, message in cases.items():
        step = protocol.receive("a0", state, message)
        assert step.state == state and step.effects == (Reject(reason, message),), reason
    wrong_dimension = good.replace(value=((1, 1), (1, 1)))
    assert protocol.receive("a0", state, wrong_dimension).effects == (Reject("malformed-value", wrong_dimension),)


def test_equivocation_is_evidence_and_the_first_value_stays() -> None:
    protocol = _instance()
    state = protocol.start("a0").state
    first = RoundValue(session="s0", sender="a3", round=1, value=((-4, 1),))
    state = protocol.receive("a0", state, first).state
    again = protocol.receive("a0", state, first)
    assert again.state == state and again.effects == ()
    conflicting = first.replace(value=((8, 1),))
    step = protocol.receive("a0", state, conflicting)
    assert step.state == state
    assert step.effects == (Evidence("equivocation", "a3", (first, conflicting)),)


# ------------------------------------------------------------------ runs
def test_a_synchronous_run_of_vectors_reaches_epsilon_agreement_in_r_rounds() -> None:
    inputs = {"a0": (0.0, 10), "a1": (1.5, 7), "a2": (4, 0.25), "a3": (2, 3), "a4": (3, 9), "a5": (1, 1),
              "a6": (0, 0)}
    protocol = ApproximateAgreement(Membership.of_size(7), inputs, 2, (0, 10), Fraction(1, 4))
    states = run_synchronously(protocol)
    assert protocol.rounds == 6
    finals = [states[a].decided for a in protocol.agents]
    assert all(rounds == 6 for _, rounds in finals)
    for coordinate in range(2):
        column = [value[coordinate] for value, _ in finals]
        assert max(column) - min(column) <= Fraction(1, 4)
        honest = [Fraction(v[coordinate]) for v in inputs.values()]
        assert all(min(honest) <= x <= max(honest) for x in column)
    history = convergence_history(states["a0"])
    assert [row["round"] for row in history] == list(range(1, 7))
    assert all(row["received"] == 7 for row in history)


def test_a_silent_byzantine_agent_is_outwaited_by_the_grace_timer() -> None:
    protocol = build(4, 1)
    states = run_synchronously(protocol, silent=frozenset({"a3"}))
    decided = [states[a].decided for a in ("a0", "a1", "a2")]
    assert all(d is not None and d[1] == protocol.rounds for d in decided)
    values = [d[0][0] for d in decided]
    assert max(values) - min(values) <= protocol.epsilon
    assert protocol.decisions_agree(decided)


def test_decisions_agree_within_epsilon_and_on_the_round_count() -> None:
    """Drivers ask the protocol whether decisions agree: within epsilon per coordinate, equal rounds."""
    protocol = _instance(epsilon=Fraction(1, 2))
    near, far = ((Fraction(1),), 2), ((Fraction(3, 2),), 2)
    assert protocol.decisions_agree([near, far]) and protocol.decisions_agree([near])
    assert not protocol.decisions_agree([near, ((Fraction(3, 2) + Fraction(1, 100),), 2)])
    assert not protocol.decisions_agree([near, ((Fraction(1),), 1)])
    assert _instance(epsilon=Fraction(1, 4)).decisions_agree([near, far]) is False


# ------------------------------------------------------------------ model checking
def _verdicts(entry: Any, mutant: str | None = None, **options: Any) -> dict[str, Any]:
    result = check(build_model(entry, mutant=mutant, **options), entry.properties)
    assert result.stats.complete
    return {r.property.id: r for r in result.results}


def test_every_property_holds_on_the_one_round_instance() -> None:
    protocol = build(4, 1, epsilon=ONE_ROUND_EPSILON)
    result = check(ActorModel(protocol, CheckConfig(network="duplicating", intruder=True,
                                                    byzantine=frozenset({"a3"}))), ENTRY.properties)
    assert result.stats.complete and result.ok, [(r.property.id, r.status) for r in result.results]
    assert {r.property.id for r in result.results if r.status in ("holds", "reached")} == NUMERIC_IDS


def test_equivocation_to_one_agent_keeps_every_property() -> None:
    protocol = build(4, 1, epsilon=ONE_ROUND_EPSILON, equivocate_to_one=True)
    result = check(ActorModel(protocol, CheckConfig(network="duplicating", byzantine=frozenset({"a3"}))),
                   ENTRY.properties)
    assert result.stats.complete and result.ok
    assert result.stats.distinct_states > 1000


@pytest.mark.slow
def test_the_standard_two_round_check_holds() -> None:
    verdicts = _verdicts(ENTRY)
    assert all(r.ok for r in verdicts.values()), {k: r.status for k, r in verdicts.items()}


@pytest.mark.parametrize("mutant", [m.name for m in ENTRY.mutants])
def test_every_mutant_is_caught_with_a_counterexample(mutant: str) -> None:
    verdicts = _verdicts(ENTRY, mutant)
    expected = ENTRY.mutant(mutant).breaks
    for property_id in expected:
        verdict = verdicts[property_id]
        assert not verdict.ok, f"{mutant} should break {property_id}"
        if verdict.property.kind.value != "sometimes":
            assert verdict.trace is not None and verdict.status == "violated"


def test_every_property_has_a_mutant() -> None:
    covered = {pid for m in ENTRY.mutants for pid in m.breaks}
    assert {p.id for p in ENTRY.properties} <= covered


# ------------------------------------------------------------------ declarations
def test_the_machine_declares_its_properties_and_adversary() -> None:
    """Drivers read the properties and the checker's adversary from the protocol class."""
    assert ApproximateAgreement.properties is PROPERTIES is ENTRY.properties
    assert isinstance(ApproximateAgreement.adversary, IterativeAdversary)
    protocol = build(4, 1)
    low, high = protocol.extremes()
    injected = list(ApproximateAgreement.adversary.messages(protocol, "a3"))
    assert len(injected) == 3 * protocol.rounds  # one value per other agent per round
    assert {decode(e.message.value, 1) for e in injected} == {low, high}
    by_round = {r: {e.to: e.message.value for e in injected if e.message.round == r} for r in (1, 2)}
    assert by_round[1]["a0"] == by_round[2]["a2"] == encode(low)  # the halves swap every round
    twice = list(ApproximateAgreement.adversary.messages(build(4, 1, equivocate_to_one=True), "a3"))
    assert len(twice) == len(injected) + protocol.rounds  # the first recipient also gets the other extreme
    forged = list(ApproximateAgreement.adversary.forged(protocol))
    assert [e.to for e in forged] == list(protocol.agents) and {e.message.sender for e in forged} == {"intruder"}


# ------------------------------------------------------------------ spec, TLA+, Z3, Hypothesis in step
def test_spec_and_tla_cite_every_property() -> None:
    spec = (ROOT / "spec" / "iterative.md").read_text()
    tla_text = (ROOT / ENTRY.companions.tla).read_text()
    cfg = (ROOT / ENTRY.companions.tla_cfg).read_text()
    for pid in NUMERIC_IDS:
        assert pid in spec, pid
    for pid in ("IR-S1", "IR-S2", "IR-S3", "IR-S4", "IR-L1"):
        name = pid.replace("-", "_")
        assert re.search(rf"^{name}_\w+ ==", tla_text, re.M), pid
        assert name in cfg, pid
    assert PHASES.mermaid() in spec


def test_tla_spec_parses() -> None:
    import tla

    assert tla.parse((ROOT / ENTRY.companions.tla).read_text()).name == ENTRY.companions.tla_module


def test_z3_proofs_up_to_n_10() -> None:
    results = run()
    assert results and all(r.ok for r in results), [(r.name, r.status, r.detail) for r in results if not r.ok]
    assert {r.id for r in results} == {"IR-S1", "IR-S2", "IR-S3"}
    assert (10, 3) in sizes() and sum("n=10 f=3" in r.name for r in results) == 2


def test_the_hypothesis_suite_asserts_every_safety_property() -> None:
    spec = importlib.util.spec_from_file_location("iterative_props", ROOT / ENTRY.companions.hypothesis_suite)
    assert spec is not None and spec.loader is not None
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == suite.SAFETY_IDS
    assert suite.ENTRY is ENTRY  # its machines assert the entry's own predicates


def test_a_crash_within_f_still_terminates_for_the_correct_agents() -> None:
    """IR-L1 covers correct agents: a crashed one (one of the f faults) need not decide."""
    result = run_protocol(build(4, 1), crashes={"a3": 0.0})
    assert result.status == "decided" and result.agreement
    assert result.properties["IR-L1"]["status"] == "holds"


# ------------------------------------------------------------------ state-space reduction declarations
@pytest.mark.parametrize("mutant", [m.name for m in ENTRY.mutants])
def test_reduction_declarations_hold_on_every_mutant_world(mutant: str) -> None:
    """``reads`` and ``sends_no_more`` (done is silent) audited on every reachable world of each mutant's
    check (``tests/reduction_audit.py``); f = 1 declares no symmetry."""
    worlds, silent, generators = audit(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    assert worlds > 0 and generators == 0
    assert silent > 0 or mutant in ("impossible-quorum",)  # nobody ever finishes there


@pytest.mark.slow
def test_reduction_declarations_hold_on_the_standard_check() -> None:
    """The same on the standard check (197,176 worlds, about 30 s)."""
    worlds, silent, generators = audit(build_model(ENTRY), ENTRY.properties)
    assert worlds == 197_176 and silent > 0 and generators == 0


def test_members_with_equal_inputs_are_interchangeable_without_byzantine_members() -> None:
    """With f = 0 equal inputs make members interchangeable (audited); with f > 0 none is declared."""
    protocol = _instance(inputs={"a0": 0, "a1": 4, "a2": 4}, membership=Membership.of_size(3), faulty=0,
                         epsilon=ONE_ROUND_EPSILON)
    assert protocol.symmetry() == (frozenset({"a1", "a2"}),)
    worlds, silent, generators = audit(ActorModel(protocol, CheckConfig(network="duplicating", max_crashes=1)),
                                       PROPERTIES)
    assert worlds > 10 and silent > 0 and generators == 1
    assert build(4, 1).symmetry() == ()  # a2 (honest) and a3 (Byzantine) both hold 4
