"""Z3 checks of adaptive coordination's quorum arithmetic (spec: ``spec/adaptive.md``).

The exhaustive checker covers a few small chains; these checks cover every
size. Each claim is proved by asserting its negation and getting ``unsat``:

* Byzantine count stage, every ``n >= 3f + 1`` (unbounded integers): two
  decision quorums share ``f + 1`` members (one lock value per stage), and a
  switch quorum meets every decision quorum in ``f + 1`` members when falling
  back to a Byzantine-tolerant stage, in one member when falling back to
  crash-only majority; honest members alone can form the switch quorum;
* weighted stage, every integer total ``T`` and faulty weight ``3F < T``: the
  same in weight units, plus an enumerated check over every weight vector of up
  to 5 members (weights 0..3) with the sets as Bool vectors: some honest
  member is in both the decision quorum and the switch quorum;
* majority stage: two quorums intersect, and a crash bound below n/2 leaves a
  quorum of live members;
* the check bites: one SWITCH vote fewer than the switch quorum admits a switch
  quorum that misses every honest member of a decision quorum (the
  ``smaller-switch-quorum`` mutant), and a simple-majority quorum in a
  Byzantine stage lets two decision quorums overlap only in faulty members.

The lemmas are about this model's formulas (:func:`byzantine_quorum`,
:func:`weighted_quorum`, :func:`majority_quorum`, :func:`switch`,
:func:`crash_bound_admissible`). :func:`code_checks` reads the code when it runs
(``mabeam.protocols.adaptive.config``: the quorum functions, ``build_stages``,
``switch_quorum``, ``Stage.precondition_holds``, and the switch quorums of built
``AdaptiveCoordination`` machines) at every size up to a bound, over every weight
vector of up to 4 members with weights 0..3 and a fixed sample of larger ones,
and proves it equal to them.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import InsufficientReplicasError, InvalidWeightError, Membership
from mabeam.models.conformance import (
    Point,
    Raised,
    accepts,
    code_equals_formula,
    evaluate,
    sampled_weight_vectors,
    size_pairs,
    weight_vectors,
)
from mabeam.protocols.adaptive import config, machine

ENUMERATED_SIZES = range(1, 6)
MAX_WEIGHT = 3
#: the code's count quorums are compared with the formulas for every n up to CODE_SIZES
CODE_SIZES = 64
#: ... its weighted quorum for every total weight up to CODE_TOTALS
CODE_TOTALS = 256
#: ... and weighted stages over every weight vector of up to CODE_MEMBERS members with weights
#: 0..CODE_WEIGHT, plus SAMPLED vectors drawn with a fixed seed (up to 16 members, weights up to 30)
CODE_MEMBERS = 4
CODE_WEIGHT = 3
SAMPLED = 60
#: built machines (the demo chain Byzantine -> weighted -> majority) for every n up to MACHINE_SIZES
MACHINE_SIZES = 16

Build = Callable[[z3.Solver], None]


def byzantine_quorum(n: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    """Decision quorum of a Byzantine count stage: (n + f) // 2 + 1 (Z3 integer division)."""
    return (n + f) / 2 + 1


def weighted_quorum(total: z3.ArithRef) -> z3.ArithRef:
    """Decision quorum of a weighted stage: 2T // 3 + 1 units, the least integer above 2T/3."""
    return (2 * total) / 3 + 1


def majority_quorum(n: z3.ArithRef) -> z3.ArithRef:
    """Decision quorum of a crash-only majority stage: n // 2 + 1."""
    return n / 2 + 1


def crash_bound_admissible(n: z3.ArithRef, crash_bound: z3.ArithRef) -> z3.BoolRef:
    """A majority stage's precondition: the declared crash bound is below n/2."""
    return 2 * crash_bound < n


def switch(total: z3.ArithRef, quorum: z3.ArithRef, budget: z3.ArithRef, tolerant: z3.BoolRef) -> z3.ArithRef:
    """SWITCH units needed to leave a stage: T - q + 1, plus its fault budget F when the next stage
    tolerates Byzantine members."""
    return _switch(total, quorum, z3.If(tolerant, budget, 0))


# ------------------------------------------------------------------ the code's arithmetic
def _stages(members: Membership, first: config.StageSpec, target: str) -> tuple[config.Stage, ...]:
    """``first`` followed by a stage of kind ``target`` (all weights 1, no faults), built by the code."""
    follow = {"byzantine": config.StageSpec("byzantine"),
              "weighted": config.StageSpec("weighted", weights=dict.fromkeys(members.agents, 1)),
              "majority": config.StageSpec("majority")}[target]
    return config.build_stages(members, (first, follow), 10.0)


def _byzantine_switch(n: int, f: int, tolerant: bool) -> int:
    stages = _stages(Membership.of_size(n), config.StageSpec("byzantine", faulty=f),
                     "byzantine" if tolerant else "majority")
    return config.switch_quorum(stages[0], stages[1])


def _weighted_stages() -> list[tuple[tuple[int, ...], int]]:
    """Weight vectors (exhaustive small ones, then the seeded sample) with faulty weights below T/3:
    all of them for the small vectors, 0, 1, (T-1)//6 and (T-1)//3 for the sampled ones."""
    chosen = []
    for weights in weight_vectors(CODE_MEMBERS, CODE_WEIGHT):
        chosen += [(weights, fw) for fw in range((sum(weights) - 1) // 3 + 1)]
    for weights in sampled_weight_vectors(SAMPLED, 16, 30, seed=7):
        top = (sum(weights) - 1) // 3
        chosen += [(weights, fw) for fw in sorted({0, min(1, top), top // 2, top})]
    return chosen


def _weighted_tables() -> tuple[list[tuple[Point, object]], list[tuple[Point, object]]]:
    """For every weighted stage and next-stage kind: ((T, F), its quorum) and ((T, F, tolerant), the
    switch quorum), with T summed here from the weights given, not taken from the code."""
    quorums: list[tuple[Point, object]] = []
    switches: list[tuple[Point, object]] = []
    for weights, fw in _weighted_stages():
        members = Membership.of_size(len(weights))
        spec = config.StageSpec("weighted", weights=dict(zip(members.agents, weights)), faulty_weight=fw)
        for target, tolerant in (("weighted", True), ("majority", False)):
            point = (sum(weights), fw)
            try:
                stages = _stages(members, spec, target)
            except Exception as error:  # an admissible stage refused is a mismatch, reported with the point
                quorums.append((point, Raised(error)))
                continue
            quorums.append((point, stages[0].quorum))
            switches.append(((*point, tolerant), config.switch_quorum(stages[0], stages[1])))
    return quorums, switches


def _machine_switches() -> tuple[list[tuple[Point, object]], list[tuple[Point, object]]]:
    """Built machines on the demo chain b -> w -> m: ((n, f), switch quorum out of stage 0) and
    ((T,), out of stage 1), T summed here from the chain's weights."""
    first: list[tuple[Point, object]] = []
    second: list[tuple[Point, object]] = []
    for n, f in size_pairs(MACHINE_SIZES, lambda k: (k - 1) // 3, min_n=2):
        members = Membership.of_size(n)
        chain = config.demo_chain(n, f, "bwm")
        built = machine.AdaptiveCoordination(members, dict.fromkeys(members.agents, "x"), chain)
        first.append(((n, f), built.switch_quorum(0)))
        second.append(((sum((chain[1].weights or {}).values()), f), built.switch_quorum(1)))
    return first, second


def code_checks() -> list[ProofResult]:
    """The code's stage quorums, switch quorums, fault bounds and precondition equal the formulas."""
    n, f, total, faulty, crash = z3.Ints("n f T F c")
    tolerant = z3.Bool("next_tolerates_byzantine")
    pairs = size_pairs(CODE_SIZES, lambda k: (k - 1) // 3)
    in_bound = f"n = 1..{CODE_SIZES}, f = 0..(n-1)//3"
    stages = f"weight vectors 0..{CODE_WEIGHT} of 1..{CODE_MEMBERS} members (every F < T/3) and {SAMPLED} seeded ones"
    weighted_quorums, weighted_switches = _weighted_tables()
    machine_first, machine_second = _machine_switches()
    on_machines = f"machines on the chain b -> w -> m, n = 2..{MACHINE_SIZES}, f = 0..(n-1)//3"
    return [
        code_equals_formula("ADAPT-S2", "config.byzantine_quorum(n, f) = (n+f)//2 + 1", [n, f], byzantine_quorum,
                            evaluate(lambda k, x: config.byzantine_quorum(k, x), pairs), in_bound),
        code_equals_formula("ADAPT-S2", "config.weighted_quorum(T) = 2T//3 + 1", [total], weighted_quorum,
                            evaluate(lambda t: config.weighted_quorum(t), [(t,) for t in range(1, CODE_TOTALS + 1)]),
                            f"T = 1..{CODE_TOTALS}"),
        code_equals_formula("ADAPT-S2", "config.majority_quorum(n) = n//2 + 1", [n], majority_quorum,
                            evaluate(lambda k: config.majority_quorum(k), [(k,) for k in range(1, CODE_TOTALS + 1)]),
                            f"n = 1..{CODE_TOTALS}"),
        code_equals_formula("ADAPT-S2", "build_stages: a Byzantine stage is accepted iff n >= 3f+1", [n, f],
                            lambda k, x: k >= 3 * x + 1,
                            evaluate(lambda k, x: accepts(lambda: _stages(Membership.of_size(k), config.StageSpec(
                                "byzantine", faulty=x), "majority"), InsufficientReplicasError),
                                     size_pairs(CODE_SIZES, lambda k: k // 3 + 1)),
                            f"n = 1..{CODE_SIZES}, f = 0..n//3 + 1"),
        code_equals_formula("ADAPT-S2", "build_stages: a weighted stage is accepted iff 3F < T", [total, faulty],
                            lambda t, x: 3 * x < t,
                            evaluate(lambda t, x: accepts(lambda: _stages(Membership.of_size(1), config.StageSpec(
                                "weighted", weights={"a0": t}, faulty_weight=x), "majority"), InvalidWeightError),
                                     size_pairs(CODE_SIZES, lambda t: t // 3 + 1)),
                            f"one member of weight T = 1..{CODE_SIZES}, F = 0..T//3 + 1"),
        code_equals_formula("ADAPT-S2", "build_stages: a weighted stage's quorum = 2T//3 + 1", [total, faulty],
                            lambda t, _: weighted_quorum(t), weighted_quorums, stages),
        code_equals_formula("ADAPT-S2", "config.switch_quorum(Byzantine stage, next) = n - q + 1 (+ f if the next "
                            "stage tolerates Byzantine members)", [n, f, tolerant],
                            lambda k, x, tol: switch(k, byzantine_quorum(k, x), x, tol),
                            evaluate(_byzantine_switch, [(k, x, tol) for k, x in pairs for tol in (True, False)]),
                            f"{in_bound}, next stage Byzantine or majority"),
        code_equals_formula("ADAPT-S2", "config.switch_quorum(weighted stage, next) = T - q + 1 (+ F if the next "
                            "stage tolerates Byzantine members)", [total, faulty, tolerant],
                            lambda t, x, tol: switch(t, weighted_quorum(t), x, tol), weighted_switches,
                            f"{stages}, next stage weighted or majority"),
        code_equals_formula("ADAPT-S2", "AdaptiveCoordination.switch_quorum(0) = n - q + 1 + f", [n, f],
                            lambda k, x: switch(k, byzantine_quorum(k, x), x, z3.BoolVal(True)), machine_first,
                            on_machines),
        code_equals_formula("ADAPT-S2", "AdaptiveCoordination.switch_quorum(1) = T - q + 1 (to majority)",
                            [total, f], lambda t, _: switch(t, weighted_quorum(t), 0, z3.BoolVal(False)),
                            machine_second, on_machines),
        code_equals_formula("ADAPT-S3", "Stage.precondition_holds(n) of a majority stage iff 2c < n", [n, crash],
                            crash_bound_admissible,
                            evaluate(lambda k, c: _stages(Membership.of_size(k), config.StageSpec(
                                "majority", crash_bound=c), "majority")[0].precondition_holds(k),
                                     size_pairs(CODE_SIZES, lambda k: k)), f"n = 1..{CODE_SIZES}, c = 0..n"),
    ]


def _byzantine(claim: Callable[[z3.ArithRef, z3.ArithRef, z3.ArithRef], z3.BoolRef]) -> Build:
    """Negation of ``claim(n, f, q)`` over every n >= 3f + 1, f >= 0."""
    def build(solver: z3.Solver) -> None:
        n, f = z3.Ints("n f")
        solver.add(f >= 0, n >= 3 * f + 1)
        solver.add(z3.Not(claim(n, f, byzantine_quorum(n, f))))
    return build


def _weighted(claim: Callable[[z3.ArithRef, z3.ArithRef, z3.ArithRef], z3.BoolRef]) -> Build:
    """Negation of ``claim(T, F, q)`` over every integer total T > 0 and faulty weight 0 <= 3F < T."""
    def build(solver: z3.Solver) -> None:
        total, faulty = z3.Ints("T F")
        solver.add(total > 0, faulty >= 0, 3 * faulty < total)
        solver.add(z3.Not(claim(total, faulty, weighted_quorum(total))))
    return build


def _switch(total: z3.ArithRef, quorum: z3.ArithRef, carried: z3.ArithRef) -> z3.ArithRef:
    return total - quorum + 1 + carried  # config.switch_quorum


def enumerated_switch_meets_decision(n: int, *, shortfall: int = 0) -> Build:
    """Negation, for every weight vector in 0..MAX_WEIGHT^n and faulty weight 3F < T: a decision
    quorum A, a switch quorum B (``shortfall`` units short) and a faulty set Z within F with no
    honest member in A and B."""
    def build(solver: z3.Solver) -> None:
        weights = [z3.Int(f"w{i}") for i in range(n)]
        in_a = [z3.Bool(f"a{i}") for i in range(n)]
        in_b = [z3.Bool(f"b{i}") for i in range(n)]
        in_z = [z3.Bool(f"z{i}") for i in range(n)]
        faulty = z3.Int("F")
        for w in weights:
            solver.add(w >= 0, w <= MAX_WEIGHT)
        total = z3.Sum(weights)

        def weight(members: list[z3.BoolRef]) -> z3.ArithRef:
            return z3.Sum([z3.If(m, w, 0) for m, w in zip(members, weights)])

        quorum = weighted_quorum(total)
        solver.add(total > 0, faulty >= 0, 3 * faulty < total, weight(in_z) <= faulty)
        solver.add(weight(in_a) >= quorum, weight(in_b) >= _switch(total, quorum, faulty) - shortfall)
        # negation: every member of both quorums with positive weight is faulty
        solver.add(z3.And([z3.Implies(z3.And(a, b, w > 0), z) for a, b, z, w in zip(in_a, in_b, in_z, weights)]))
    return build


def run() -> list[ProofResult]:
    results = code_checks()
    results += [
        prove_unsat("ADAPT-S2", "Byzantine stage: two decision quorums share f+1 members (one lock per stage)",
                    _byzantine(lambda n, f, q: 2 * q - n >= f + 1), "Int n, f unbounded, n >= 3f+1"),
        prove_unsat("ADAPT-S2", "Byzantine stage: a switch quorum to a Byzantine-tolerant stage meets "
                    "every decision quorum in f+1 members",
                    _byzantine(lambda n, f, q: _switch(n, q, f) + q - n >= f + 1), "Int n, f unbounded"),
        prove_unsat("ADAPT-S2", "Byzantine stage: a switch quorum to crash-only majority meets every "
                    "decision quorum", _byzantine(lambda n, f, q: _switch(n, q, 0) + q - n >= 1),
                    "Int n, f unbounded"),
        prove_unsat("ADAPT-R2", "Byzantine stage: the n-f honest members can form the switch quorum",
                    _byzantine(lambda n, f, q: _switch(n, q, f) <= n - f), "Int n, f unbounded"),
        prove_unsat("ADAPT-S2", "weighted stage: two decision quorums overlap in more than F",
                    _weighted(lambda t, fw, q: 2 * q - t >= fw + 1), "Int T, F unbounded, 3F < T"),
        prove_unsat("ADAPT-S2", "weighted stage: a switch quorum meets every decision quorum in more than F",
                    _weighted(lambda t, fw, q: _switch(t, q, fw) + q - t >= fw + 1), "Int T, F unbounded"),
        prove_unsat("ADAPT-R2", "weighted stage: the honest weight T-F can form the switch quorum",
                    _weighted(lambda t, fw, q: _switch(t, q, fw) <= t - fw), "Int T, F unbounded"),
        prove_unsat("ADAPT-S2", "majority stage: two quorums n//2+1 intersect",
                    _byzantine(lambda n, f, q: 2 * majority_quorum(n) > n), "Int n unbounded"),
        prove_unsat("ADAPT-S3", "majority precondition: a crash bound c < n/2 leaves a live quorum",
                    _crash_bound_leaves_quorum, "Int n, c unbounded"),
    ]
    for n in ENUMERATED_SIZES:
        results.append(prove_unsat(
            "ADAPT-S2", f"weighted stage, every weight vector in 0..{MAX_WEIGHT}^{n}: an honest member "
            "is in every decision quorum and every switch quorum", enumerated_switch_meets_decision(n),
            f"{n} Int weights, {3 * n} Bool membership variables, one query"))
    results += [
        expect_refuted(prove_unsat("ADAPT-S5", "switch quorum one short meets every decision quorum",
                                   enumerated_switch_meets_decision(4, shortfall=1)),
                       "the check bites: one SWITCH vote fewer than the switch quorum can miss every honest member"),
        expect_refuted(prove_unsat("ADAPT-S2", "majority quorum in a Byzantine stage",
                                   _byzantine(lambda n, f, q: 2 * majority_quorum(n) - n >= f + 1)),
                       "the check bites: simple-majority quorums in a Byzantine stage overlap only in faulty members"),
    ]
    return results


def _crash_bound_leaves_quorum(solver: z3.Solver) -> None:
    n, c = z3.Ints("n c")
    solver.add(n >= 1, c >= 0, crash_bound_admissible(n, c))
    solver.add(n - c < majority_quorum(n))

