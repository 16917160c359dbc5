"""Soundness gates of the state-space reductions: reduced and unreduced searches must agree.

For TwoPhase at small sizes and for every registered protocol's standard
check: the same verdict for every property (liveness, which reductions do not
judge, excepted) and, for symmetry, exactly one stored world per orbit of the
unreduced state set (orbits counted by brute force over every permutation of
the declared interchangeable agents). The mutant sweeps under each reduction
are in the slow tier.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from benchmarks.two_phase import MUTANTS as TWO_PHASE_MUTANTS
from benchmarks.two_phase import PROPERTIES as TWO_PHASE_PROPERTIES
from benchmarks.two_phase import build as two_phase
from mabeam.api.registry import builtin_entries
from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig, CheckResult, check
from mabeam.checker.symmetry import Symmetry
from mabeam.core.catalog import Mutant, ProtocolEntry
from mabeam.core.properties import Kind

ENTRIES = list(builtin_entries().values())
#: orbits are counted by brute force only below this many permutations a world
BRUTE_FORCE_LIMIT = 720


def reachable(model: ActorModel) -> Iterator[tuple[tuple[int, ...], int]]:
    """Every reachable world of the unreduced model, with its fingerprint."""
    root = model.initial()
    seen = {model.fingerprint(root)}
    todo = [(root, model.fingerprint(root))]
    while todo:
        world, fp = todo.pop()
        yield world, fp
        for succ, succ_fp, _action, _fair in model.successors(world, fp):
            if succ_fp not in seen:
                seen.add(succ_fp)
                todo.append((succ, succ_fp))


def orbit_count(model: ActorModel) -> int | None:
    """The number of orbits of the reachable worlds under the declared permutations (brute force)."""
    sym = Symmetry(model)
    perms = [list(itertools.permutations(group)) for group in sym.positions]
    total = 1
    for p in perms:
        total *= len(p)
    if total > BRUTE_FORCE_LIMIT:
        return None
    orders = []
    for choice in itertools.product(*perms):
        order = {}
        for group, targets in zip(sym.positions, choice):
            order.update(zip(group, targets))
        orders.append(order)
    return len({min(model.fingerprint(sym._apply(world, order)) for order in orders)
                for world, _fp in reachable(model)})


def verdicts(result: CheckResult) -> dict[str, str]:
    return {r.property.id: r.status for r in result.results if r.property.kind is not Kind.EVENTUALLY}


def assert_same_verdicts(full: CheckResult, reduced: CheckResult) -> None:
    """Safety and reachability verdicts agree; liveness is left unjudged by an active reduction."""
    assert full.stats.complete and reduced.stats.complete
    assert verdicts(reduced) == verdicts(full)
    idle = any("declares no interchangeable agents" in note for note in reduced.notes)
    for r in reduced.results:
        if r.property.kind is Kind.EVENTUALLY:
            assert r.status == (full.result_for(r.property.id).status if idle else "not-checked")


# ------------------------------------------------------------------ TwoPhase
@pytest.mark.parametrize("rms", [3, 4, 5])
def test_two_phase_symmetry_stores_one_world_per_orbit(rms: int) -> None:
    def model(**reduce: bool) -> ActorModel:
        return ActorModel(two_phase(rms), CheckConfig(network="duplicating", **reduce))

    full = check(model(), TWO_PHASE_PROPERTIES)
    reduced = check(model(symmetry=True), TWO_PHASE_PROPERTIES)
    assert_same_verdicts(full, reduced)
    assert reduced.stats.distinct_states == orbit_count(model()) < full.stats.distinct_states


@pytest.mark.parametrize("rms", [3, 4])
def test_two_phase_partial_order_reduction_keeps_the_verdicts(rms: int) -> None:
    full = check(ActorModel(two_phase(rms), CheckConfig(network="duplicating")), TWO_PHASE_PROPERTIES)
    reduced = check(ActorModel(two_phase(rms), CheckConfig(network="duplicating", por=True)), TWO_PHASE_PROPERTIES)
    assert_same_verdicts(full, reduced)
    assert reduced.stats.distinct_states <= full.stats.distinct_states


@pytest.mark.parametrize("name", sorted(TWO_PHASE_MUTANTS))
@pytest.mark.parametrize("reduce", ["symmetry", "por"])
def test_two_phase_mutants_are_still_caught_under_each_reduction(name: str, reduce: str) -> None:
    cls, breaks = TWO_PHASE_MUTANTS[name]
    full = check(ActorModel(two_phase(3, cls), CheckConfig(network="duplicating")), TWO_PHASE_PROPERTIES)
    reduced = check(ActorModel(two_phase(3, cls), CheckConfig(network="duplicating", **{reduce: True})),
                    TWO_PHASE_PROPERTIES)
    assert {r.property.id for r in reduced.failures()} == {r.property.id for r in full.failures()} >= set(breaks)


# ------------------------------------------------------------------ every protocol
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@pytest.mark.parametrize("reduce", ["symmetry", "por"])
def test_reduced_standard_check_agrees_with_the_full_one(entry: ProtocolEntry, reduce: str) -> None:
    full = check(build_model(entry), entry.properties)
    reduced = check(build_model(entry, **{reduce: True}), entry.properties)
    assert_same_verdicts(full, reduced)
    assert reduced.stats.distinct_states <= full.stats.distinct_states
    if reduce == "symmetry":
        expected = orbit_count(build_model(entry))
        if expected is not None:
            assert reduced.stats.distinct_states == expected


def _mutant_check(entry: ProtocolEntry, mutant: Mutant, **reduce: bool) -> CheckResult:
    return check(build_model(entry, mutant=mutant.name, **reduce), entry.properties)


@pytest.mark.slow
@pytest.mark.parametrize("mutant", [m for e in ENTRIES for m in e.mutants], ids=lambda m: f"{m.protocol}/{m.name}")
@pytest.mark.parametrize("reduce", ["symmetry", "por"])
def test_every_mutant_is_caught_under_each_reduction(mutant: Mutant, reduce: str) -> None:
    entry = builtin_entries()[mutant.protocol]
    full = _mutant_check(entry, mutant)
    reduced = _mutant_check(entry, mutant, **{reduce: True})
    safety = {r.property.id for r in full.failures() if r.property.kind is not Kind.EVENTUALLY}
    assert {r.property.id for r in reduced.failures() if r.property.kind is not Kind.EVENTUALLY} == safety
    if any(pid in mutant.breaks for pid in safety):
        return
    # a liveness-only mutant: an active reduction does not judge liveness, and says so
    idle = any("declares no interchangeable agents" in note for note in reduced.notes)
    for r in reduced.results:
        if r.property.kind is Kind.EVENTUALLY:
            assert r.status == (full.result_for(r.property.id).status if idle else "not-checked")


def test_step_properties_are_judged_on_the_real_successor_under_symmetry():
    """A step property that holds unreduced must hold under symmetry: the representative of a successor
    may rename the acting agent, so the step is judged on the real successor."""
    from benchmarks.two_phase import build
    from mabeam import ActorModel, CheckConfig, always_step, check

    @always_step("TP-T9", "an RM never returns to working", reads=("states",))
    def never_back(before, action, after):
        return not any(getattr(before.states[a], "phase", None) not in (None, "working") and
                       getattr(after.states[a], "phase", None) == "working" for a in after.states if a != "tm")

    plain = check(ActorModel(build(3), CheckConfig(network="duplicating")), [never_back])
    reduced = check(ActorModel(build(3), CheckConfig(network="duplicating", symmetry=True)), [never_back])
    assert plain.verdict == reduced.verdict == "holds"


def test_a_mixed_symmetry_class_is_split_into_honest_and_byzantine_parts():
    from mabeam.api.registry import get
    from mabeam.api.verify import build_model
    from mabeam.checker.symmetry import Symmetry

    model = build_model(get("weighted"))  # a3 is Byzantine
    assert model.byzantine == {"a3"}
    split = Symmetry(model)._validated((frozenset({"a1", "a2", "a3"}),))
    assert split == (frozenset({"a1", "a2"}),)
