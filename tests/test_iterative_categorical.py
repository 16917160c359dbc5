"""Categorical refinement: API validation, screening, runs, checker verdicts, mutants, Z3, spec sync."""

from __future__ import annotations

import importlib.util
import itertools
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import z3
from reduction_audit import audit
from test_iterative import run_synchronously

from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.core import ConfigurationError, InsufficientReplicasError, Kind, Membership, Reject
from mabeam.models.iterative_categorical import plurality_is, run
from mabeam.protocols.iterative_categorical import (
    ENTRY,
    PHASES,
    PROPERTIES,
    CategoricalAdversary,
    CategoricalRefinement,
    Proposal,
    build,
)

ROOT = Path(__file__).resolve().parents[1]
IDS = {p.id for p in ENTRY.properties}


# ------------------------------------------------------------------ configuration
def test_configuration_is_validated() -> None:
    with pytest.raises(ConfigurationError):
        CategoricalRefinement(Membership.of_size(3), {"a0": ("x", 1), "a1": ("q", 1), "a2": ("x", 1)}, ("x", "y"))
    with pytest.raises(ConfigurationError):
        CategoricalRefinement(Membership.of_size(3), {"a0": ("x", math.nan), "a1": ("x", 1), "a2": ("x", 1)},
                              ("x", "y"))
    with pytest.raises(ConfigurationError):
        CategoricalRefinement(Membership.of_size(3), {"a0": ("x", -1), "a1": ("x", 1), "a2": ("x", 1)}, ("x",))
    with pytest.raises(InsufficientReplicasError):
        CategoricalRefinement(Membership.of_size(2), {"a0": ("x", 1), "a1": ("x", 1)}, ("x",), faulty=2)
    with pytest.raises(ConfigurationError, match="distinct"):
        CategoricalRefinement(Membership.of_size(1), {"a0": ("x", 1)}, ("x", "x"))
    with pytest.raises(ConfigurationError, match="max_rounds"):
        CategoricalRefinement(Membership.of_size(1), {"a0": ("x", 1)}, ("x",), max_rounds=0)
    with pytest.raises(ConfigurationError, match="missing"):
        CategoricalRefinement(Membership.of_size(2), {"a0": ("x", 1)}, ("x",))


# ------------------------------------------------------------------ runs and screening
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
    protocol = ENTRY.factory(3, 1)
    state = protocol.start("a0").state
    good = Proposal(session="s0", sender="a1", round=1, answer="z", confidence=(2, 1))
    for reason, message in [("bad-round", good.replace(round=9)),
                            ("unknown-answer", good.replace(answer="w")),
                            ("malformed-confidence", good.replace(confidence=(-1, 1))),
                            ("malformed-confidence", good.replace(confidence=(4, 2))),  # not in lowest terms
                            ("malformed-confidence", good.replace(confidence=(1, 0)))]:
        assert protocol.receive("a0", state, message).effects == (Reject(reason, message),)
    first = protocol.receive("a0", state, good).state.history[0]  # n - f = 2 proposals: round 1 is done
    assert (first.plurality, first.support, first.received) == ("z", Fraction(2, 3), 2)


# ------------------------------------------------------------------ declarations
def test_the_machine_declares_its_properties_and_adversary() -> None:
    """Drivers read the properties and the checker's adversary from the protocol class."""
    assert CategoricalRefinement.properties is PROPERTIES is ENTRY.properties
    assert isinstance(CategoricalRefinement.adversary, CategoricalAdversary)
    protocol = build(3, 1)
    assert list(CategoricalRefinement.adversary.messages(protocol, "a2")) == []  # crash faults: silent
    forged = list(CategoricalRefinement.adversary.forged(protocol))
    assert [e.to for e in forged] == list(protocol.agents)
    assert {(e.message.sender, e.message.answer, e.message.confidence) for e in forged} == {
        ("intruder", "z", (1000, 1))}
    assert protocol.quorum == 2 and protocol.decisions_agree([("z", 2), ("z", 2)])
    assert not protocol.decisions_agree([("z", 2), ("y", 2)])  # exact agreement, the default


# ------------------------------------------------------------------ model checking
def _verdicts(mutant: str | None = None) -> dict[str, Any]:
    result = check(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    assert result.stats.complete
    return {r.property.id: r for r in result.results}


def test_every_property_holds() -> None:
    verdicts = _verdicts()
    assert set(verdicts) == IDS
    assert all(r.ok for r in verdicts.values()), {k: r.status for k, r in verdicts.items()}


@pytest.mark.parametrize("mutant", [m.name for m in ENTRY.mutants])
def test_every_mutant_is_caught_with_a_counterexample(mutant: str) -> None:
    verdicts = _verdicts(mutant)
    for property_id in ENTRY.mutant(mutant).breaks:
        verdict = verdicts[property_id]
        assert not verdict.ok, f"{mutant} should break {property_id}"
        if verdict.property.kind is not Kind.SOMETIMES:
            assert verdict.trace is not None and verdict.status == "violated"


def test_every_property_has_a_mutant() -> None:
    assert {pid for m in ENTRY.mutants for pid in m.breaks} >= IDS


# ------------------------------------------------------------------ Z3
def test_z3_proofs_all_prove_and_cite_properties() -> None:
    results = run()
    assert results and all(r.ok for r in results), [(r.name, r.status, r.detail) for r in results if not r.ok]
    assert {r.id for r in results} == {"IR-C1", "IR-C2", "IR-CL1"} < IDS
    bites = [r for r in results if r.name.startswith("the check bites")]
    assert len(bites) >= 3 and all("counterexample" in r.detail for r in bites)


def _modelled_pick(view: list[tuple[int, Fraction]], candidates: int) -> int:
    """The candidate the Z3 model's plurality rule picks for a concrete view."""
    answers = [z3.IntVal(a) for a, _ in view]
    confidences = [z3.RealVal(str(q)) for _, q in view]
    picks = [c for c in range(candidates)
             if z3.is_true(z3.simplify(plurality_is(c, answers, confidences, candidates)))]
    assert len(picks) == 1, picks
    return picks[0]


def test_the_z3_plurality_rule_is_the_machine_rule() -> None:
    """The proofs are about the code: on every small view both rules pick the same answer."""
    names = ("x", "y", "z")
    protocol = CategoricalRefinement(Membership.of_size(3), {f"a{i}": ("x", 1) for i in range(3)}, names)
    confidences = (Fraction(0), Fraction(1, 2), Fraction(1), Fraction(2))
    for size in (1, 2, 3):
        for answers in itertools.product(range(3), repeat=size):
            for weights in itertools.product(confidences, repeat=size):
                view = list(zip(answers, weights))
                machine = protocol.plurality({f"s{i}": (names[a], q) for i, (a, q) in enumerate(view)})
                assert machine == names[_modelled_pick(view, 3)], view


# ------------------------------------------------------------------ spec, TLA+, Hypothesis in step
def test_spec_and_tla_cite_every_property() -> None:
    spec = (ROOT / ENTRY.companions.spec).read_text()
    for pid in IDS:
        assert pid in spec, pid
    assert PHASES.mermaid() in spec
    tla_text = (ROOT / "tla" / "IterativeCategorical.tla").read_text()
    for pid in ("IR-C1", "IR-C2", "IR-CL1"):
        assert pid.replace("-", "_") in tla_text, pid


def test_tla_spec_parses() -> None:
    import tla

    assert tla.parse((ROOT / "tla" / "IterativeCategorical.tla").read_text()).name == "IterativeCategorical"


def test_the_hypothesis_suite_asserts_every_safety_property() -> None:
    spec = importlib.util.spec_from_file_location("iterative_categorical_props",
                                                  ROOT / ENTRY.companions.hypothesis_suite)
    assert spec is not None and spec.loader is not None
    suite = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(suite)
    assert {p.id for p in PROPERTIES if p.kind is Kind.ALWAYS} == suite.SAFETY_IDS
    assert suite.ENTRY is ENTRY  # its machine asserts the entry's own predicates


# ------------------------------------------------------------------ state-space reduction declarations
@pytest.mark.parametrize("mutant", [None, *(m.name for m in ENTRY.mutants)], ids=lambda m: m or "standard")
def test_reduction_declarations_hold_on_every_reachable_world(mutant: str | None) -> None:
    """``reads``, ``sends_no_more`` (done is silent) and ``symmetry`` (a0 and a2 propose y with
    confidence 1) audited on every reachable world (``tests/reduction_audit.py``)."""
    worlds, silent, generators = audit(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    assert worlds > 0 and generators == 1
    assert silent > 0 or mutant == "impossible-quorum"  # nobody ever finishes there


def test_different_answers_after_a_crash_are_reported_but_are_no_violation(capsys: pytest.CaptureFixture[str]) -> None:
    """The protocol promises no agreement (views differ once a member crashes): a run whose agents settle on
    different answers says so (agreement false) while its status follows the monitored properties."""
    import json

    from mabeam.cli import main

    assert main(["simulate", "iterative-categorical", "--agents", "5", "--faulty", "1", "--seed", "0", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["agreement"] is False and run["decided_value"] is None
    assert run["status"] == "decided" and all(v["status"] != "violated" for v in run["properties"].values())
