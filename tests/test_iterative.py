"""Iterative refinement: API validation, message screening, runs, checker verdicts, mutants, spec sync."""

from __future__ import annotations

import math
import re
from collections import deque
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig, check
from mabeam.core import (
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Evidence,
    InsufficientReplicasError,
    Membership,
    Protocol,
    Reject,
    Send,
    SetTimer,
)
from mabeam.protocols.iterative import ENTRY, ApproximateAgreement, RoundValue, build, convergence_history
from mabeam.protocols.iterative.categorical import PHASES as CATEGORICAL_PHASES
from mabeam.protocols.iterative.categorical import CategoricalRefinement, Proposal
from mabeam.protocols.iterative.categorical_entry import ENTRY as CATEGORICAL
from mabeam.protocols.iterative.numeric import ONE_ROUND_EPSILON, PHASES
from mabeam.protocols.iterative.values import decode, encode, rounds_needed

ROOT = Path(__file__).resolve().parents[1]
NUMERIC_IDS = {p.id for p in ENTRY.properties}
CATEGORICAL_IDS = {p.id for p in CATEGORICAL.properties}


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
    with pytest.raises(ConfigurationError):
        CategoricalRefinement(Membership.of_size(3), {"a0": ("x", 1), "a1": ("q", 1), "a2": ("x", 1)}, ("x", "y"))
    with pytest.raises(ConfigurationError):
        CategoricalRefinement(Membership.of_size(3), {"a0": ("x", math.nan), "a1": ("x", 1), "a2": ("x", 1)},
                              ("x", "y"))
    with pytest.raises(ConfigurationError):
        CategoricalRefinement(Membership.of_size(3), {"a0": ("x", -1), "a1": ("x", 1), "a2": ("x", 1)}, ("x",))
    with pytest.raises(InsufficientReplicasError):
        CategoricalRefinement(Membership.of_size(2), {"a0": ("x", 1), "a1": ("x", 1)}, ("x",), faulty=2)


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


def test_categorical_run_reports_answer_rounds_and_history() -> None:
    inputs = {"a0": ("y", 1), "a1": ("z", 3), "a2": ("y", 1), "a3": ("z", 0.5), "a4": ("x", 2)}
    protocol = CategoricalRefinement(Membership.of_size(5), inputs, ("x", "y", "z"), faulty=1,
                                     stable_rounds=2, max_rounds=5)
    states = run_synchronously(protocol, silent=frozenset({"a4"}))
    decided = {states[a].decided for a in ("a0", "a1", "a2", "a3")}
    assert len(decided) == 1
    (answer, rounds), = decided
    assert answer == "z" and rounds == 2  # z: 3 + 0.5 beats y: 1 + 1, then stays
    history = states["a0"].history
    assert [h.round for h in history] == [1, 2] and history[0].plurality == "z"
    assert history[0].support == Fraction(7, 11) and history[0].received == 4


def test_categorical_ties_go_to_the_earliest_candidate() -> None:
    protocol = CategoricalRefinement(Membership.of_size(3), {"a0": ("z", 1), "a1": ("y", 1), "a2": ("z", 1)},
                                     ("x", "y", "z"), faulty=1)
    view = {"a0": ("z", Fraction(1)), "a1": ("y", Fraction(1))}
    assert protocol.plurality(view) == "y"


def test_categorical_screens_bad_proposals() -> None:
    protocol = CATEGORICAL.factory(3, 1)
    state = protocol.start("a0").state
    good = Proposal(session="s0", sender="a1", round=1, answer="z", confidence=(2, 1))
    for reason, message in {"bad-round": good.replace(round=9),
                            "unknown-answer": good.replace(answer="w"),
                            "malformed-confidence": good.replace(confidence=(-1, 1))}.items():
        assert protocol.receive("a0", state, message).effects == (Reject(reason, message),)


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


def test_every_categorical_property_holds() -> None:
    verdicts = _verdicts(CATEGORICAL)
    assert set(verdicts) == CATEGORICAL_IDS
    assert all(r.ok for r in verdicts.values()), {k: r.status for k, r in verdicts.items()}


@pytest.mark.parametrize("entry, mutant", [(ENTRY, m.name) for m in ENTRY.mutants]
                         + [(CATEGORICAL, m.name) for m in CATEGORICAL.mutants],
                         ids=lambda x: x if isinstance(x, str) else x.name)
def test_every_mutant_is_caught_with_a_counterexample(entry: Any, mutant: str) -> None:
    verdicts = _verdicts(entry, mutant)
    expected = entry.mutant(mutant).breaks
    for property_id in expected:
        verdict = verdicts[property_id]
        assert not verdict.ok, f"{mutant} should break {property_id}"
        if verdict.property.kind.value != "sometimes":
            assert verdict.trace is not None and verdict.status == "violated"


def test_every_property_has_a_mutant() -> None:
    for entry in (ENTRY, CATEGORICAL):
        covered = {pid for m in entry.mutants for pid in m.breaks}
        assert {p.id for p in entry.properties} <= covered


# ------------------------------------------------------------------ spec, TLA+, Z3 in step
def test_spec_tla_and_models_cite_every_property() -> None:
    spec = (ROOT / "spec" / "iterative.md").read_text()
    tla_text = (ROOT / "tla" / "IterativeRefinement.tla").read_text()
    cfg = (ROOT / "tla" / "IterativeRefinement.cfg").read_text()
    models = (ROOT / "models" / "iterative.py").read_text()
    for pid in NUMERIC_IDS | CATEGORICAL_IDS:
        assert pid in spec, pid
    for pid in ("IR-S1", "IR-S2", "IR-S3", "IR-S4", "IR-L1"):
        name = pid.replace("-", "_")
        assert re.search(rf"^{name}_\w+ ==", tla_text, re.M), pid
        assert name in cfg, pid
    for pid in ("IR-S1", "IR-S2", "IR-S3"):
        assert f'"{pid}"' in models, pid
    categorical_tla = (ROOT / "tla" / "IterativeCategorical.tla").read_text()
    for pid in ("IR-C1", "IR-C2", "IR-CL1"):
        assert pid.replace("-", "_") in categorical_tla, pid
    assert PHASES.mermaid() in spec and CATEGORICAL_PHASES.mermaid() in spec


def test_tla_specs_parse() -> None:
    import tla

    for name in ("IterativeRefinement", "IterativeCategorical"):
        assert tla.parse((ROOT / "tla" / f"{name}.tla").read_text()).name == name


def test_z3_proofs_up_to_n_10() -> None:
    from models.iterative import run, sizes

    results = run()
    assert results and all(r.ok for r in results), [(r.name, r.status, r.detail) for r in results if not r.ok]
    assert {r.id for r in results} == {"IR-S1", "IR-S2", "IR-S3"}
    assert (10, 3) in sizes() and sum("n=10 f=3" in r.name for r in results) == 2


def test_a_crash_within_f_still_terminates_for_the_correct_agents() -> None:
    """IR-L1 covers correct agents: a crashed one (one of the f faults) need not decide."""
    from mabeam.api.session import run_protocol
    from mabeam.protocols.iterative import build

    result = run_protocol(build(4, 1), crashes={"a3": 0.0})
    assert result.status == "decided" and result.agreement
    assert result.properties["IR-L1"]["status"] == "holds"
