"""Z3 checks of the weighted-vote threshold arithmetic (spec: ``spec/weighted.md``).

The exhaustive checker covers one weight vector; these checks cover all of them.
Each claim is proved by asserting its negation and getting ``unsat``:

* symbolically over the reals, for every threshold ``t >= 2/3`` and any faulty
  weight below ``W/3``: two sets each holding more than ``t W`` overlap in more
  than ``W/3``, so an honest agent is in both (WV-S1), and a decided value has
  honest supporters (WV-S2);
* for every integer weight vector with ``n <= 5`` members and weights ``0..3``,
  with the sets as Bool vectors (one query per ``n``, the weights symbolic);
* crash mode: ``t >= 1/2`` makes two deciding sets intersect, and a threshold
  below 1/2 (or 1/2 in Byzantine mode) is refuted, which shows the checks bite.

The lemmas are about the floors :data:`BYZANTINE_FLOOR` and :data:`CRASH_FLOOR`,
the fault limit ``3F < W`` and the strict rule "voters' weight > t W". They are
about the protocol because :func:`code_checks` reads the code
(``mabeam.protocols.weighted.config``, looked up when the check runs, and the
decision rule of built ``WeightedVoting`` machines) and proves it equal to
them: the thresholds it accepts and defaults to, the faulty weights it accepts,
and, for every weight vector of up to 4 members with weights 0..3 plus a fixed
sample of larger and fractional ones, whether a support at the quorum's
boundary decides.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import ConfigurationError, Membership
from mabeam.models.conformance import (
    Point,
    Raised,
    accepts,
    code_equals_formula,
    evaluate,
    sampled_weight_vectors,
    weight_vectors,
)
from mabeam.protocols.weighted import config, machine

#: the enumerated check covers every weight vector of these sizes with weights in 0..MAX_WEIGHT
ENUMERATED_SIZES = range(1, 6)
MAX_WEIGHT = 3

#: the threshold floors the lemmas assume (the code must agree: :func:`code_checks`)
BYZANTINE_FLOOR = Fraction(2, 3)
CRASH_FLOOR = Fraction(1, 2)

#: the decision rule is read from machines over every weight vector of up to CODE_MEMBERS members with
#: weights 0..CODE_WEIGHT, and over SAMPLED vectors drawn with a fixed seed (larger, some fractional)
CODE_MEMBERS = 4
CODE_WEIGHT = 3
SAMPLED = 120
#: thresholds the machines are built with, per mode (None: the code's default)
THRESHOLDS: dict[config.Mode, tuple[Fraction | None, ...]] = {
    "byzantine": (None, Fraction(3, 4), Fraction(7, 10)),
    "crash": (None, Fraction(3, 5), Fraction(2, 3)),
}

Build = Callable[[z3.Solver], None]


def _real(value: Fraction) -> z3.ArithRef:
    return z3.RealVal(f"{value.numerator}/{value.denominator}")


def floor(byzantine: z3.BoolRef) -> z3.ArithRef:
    """The lowest threshold the lemmas allow: 2/3 in Byzantine mode, 1/2 in crash mode."""
    return z3.If(byzantine, _real(BYZANTINE_FLOOR), _real(CRASH_FLOOR))


def threshold_admissible(byzantine: z3.BoolRef, t: z3.ArithRef) -> z3.BoolRef:
    """The thresholds the lemmas cover: floor <= t < 1."""
    return z3.And(t >= floor(byzantine), t < 1)


def faulty_weight_admissible(byzantine: z3.BoolRef, faulty: z3.ArithRef, total: z3.ArithRef) -> z3.BoolRef:
    """The faulty weights the lemmas cover: 0 <= F < W/3 in Byzantine mode, F = 0 in crash mode."""
    return z3.And(faulty >= 0, z3.If(byzantine, 3 * faulty < total, faulty == 0))


def quota(total: z3.ArithRef, t: z3.ArithRef) -> z3.ArithRef:
    """What a value's voters must strictly exceed: exactly t W (no rounding, in weight or in units)."""
    return t * total


def decides(support: z3.ArithRef, t: z3.ArithRef, total: z3.ArithRef) -> z3.BoolRef:
    """The decision rule the lemmas use: the voters' weight is strictly above t W."""
    return support > quota(total, t)


def _mode(byzantine: bool) -> config.Mode:
    return "byzantine" if byzantine else "crash"


def _accepted_threshold(byzantine: bool, t: Fraction) -> bool:
    """Whether the code accepts threshold t in this mode and keeps it as given."""
    kept: list[Fraction] = []
    ok = accepts(lambda: kept.append(config.validate_threshold(_mode(byzantine), t)), ConfigurationError)
    return ok and kept == [t]


def _accepted_faulty_weight(byzantine: bool, faulty: Fraction, total: Fraction) -> bool:
    return accepts(lambda: config.validate_faulty_weight(_mode(byzantine), faulty, total), ConfigurationError)


def _configurations() -> list[tuple[tuple[Fraction, ...], config.Mode, Fraction | None]]:
    """The weight vectors (exhaustive small ones, then the seeded sample: integers, then the same
    divided by 2, 3, 4 or 6 so unit scaling is exercised) with each mode and threshold."""
    vectors = [tuple(Fraction(w) for w in v) for v in weight_vectors(CODE_MEMBERS, CODE_WEIGHT)]
    sample = sampled_weight_vectors(SAMPLED, 12, 40, seed=11)
    vectors += [tuple(Fraction(w) for w in v) for v in sample[: SAMPLED // 2]]
    vectors += [tuple(Fraction(w, (2, 3, 4, 6)[i % 4]) for w in v) for i, v in enumerate(sample[SAMPLED // 2:])]
    return [(v, mode, t) for v in vectors for mode, ts in THRESHOLDS.items() for t in ts]


def _decision_table() -> list[tuple[Point, object]]:
    """Per configuration, the machine's ``_backed`` at supports around its quorum: 0, q-1, q, q+1, all units.

    The point is (voters' weight, threshold, total weight W), with W summed here from the weights
    given, not taken from the code, and the threshold the code actually adopted.
    """
    table: list[tuple[Point, object]] = []
    for weights, mode, t in _configurations():
        members = Membership.of_size(len(weights))
        try:
            built = machine.WeightedVoting(members, dict.fromkeys(members.agents, "x"),
                                           dict(zip(members.agents, weights)), mode=mode, threshold=t)
        except Exception as error:  # a refused admissible configuration is a mismatch, not a crash
            table.append(((Fraction(0), t or Fraction(0), sum(weights)), Raised(error)))
            continue
        q, everything = built.quorum_units, built.total_units
        for units in sorted({0, q - 1, q, q + 1, everything} & set(range(everything + 1))):
            point = (Fraction(units, built.unit_scale), built.threshold, sum(weights))
            table.append((point, built._backed(units)))
    return table


def code_checks() -> list[ProofResult]:
    """The code's thresholds, fault bound and decision rule equal what the lemmas assume.

    Called from :func:`run` before the lemmas; everything is read from the code when it runs.
    """
    byzantine = z3.Bool("byzantine")
    t, faulty, total, support = z3.Reals("t F W support")
    units = z3.Int("U")
    grid = sorted({Fraction(p, q) for q in range(1, 13) for p in range(0, 14 * q // 12 + 1)})
    modes = (True, False)
    quota_points = [(k * x.denominator, x) for x in grid if CRASH_FLOOR <= x < 1 for k in range(1, 41)]
    faults = [(b, Fraction(k, 2), Fraction(w)) for b in modes for w in range(1, 25) for k in range(-1, 2 * w + 1)]
    shown = "weight vectors 0..3 of 1..4 members and 120 seeded ones (up to 12 members, some fractional)"
    return [
        code_equals_formula("WV-S1", "config.validate_threshold(mode, None) = 2/3 (Byzantine), 1/2 (crash)",
                            [byzantine], floor, evaluate(lambda b: config.validate_threshold(_mode(b), None),
                                                         [(b,) for b in modes]), "both modes"),
        code_equals_formula("WV-S1", "config.validate_threshold(mode, t) accepts t iff floor <= t < 1",
                            [byzantine, t], threshold_admissible,
                            evaluate(_accepted_threshold, [(b, x) for b in modes for x in grid]),
                            f"both modes, every t = p/q in [0, 7/6] with q <= 12 ({len(grid)} values)"),
        code_equals_formula("WV-S2", "config.validate_faulty_weight(mode, F, W) accepts F iff 0 <= F, 3F < W "
                            "(crash: F = 0)", [byzantine, faulty, total], faulty_weight_admissible,
                            evaluate(_accepted_faulty_weight, faults),
                            "both modes, W = 1..24, F = -1/2..W in steps of 1/2"),
        code_equals_formula("WV-S5", "config.quorum_units(U, t) = t U (U a multiple of t's denominator)",
                            [units, t], quota,
                            evaluate(lambda u, x: config.quorum_units(u, x), quota_points),
                            "every threshold t = p/q in [1/2, 1) with q <= 12, U = q, 2q, ..., 40q"),
        code_equals_formula("WV-S5", "WeightedVoting._backed(units) iff the voters' weight units/unit_scale > t W",
                            [support, t, total], decides, _decision_table(),
                            f"supports 0, q-1, q, q+1 and all units; {shown}; 3 thresholds per mode"),
    ]


def _partition(solver: z3.Solver) -> tuple[z3.ArithRef, ...]:
    """Weights of A only, B only, A and B, neither: non-negative, with a positive total."""
    only_a, only_b, both, rest = z3.Reals("w_A_only w_B_only w_A_and_B w_rest")
    solver.add(only_a >= 0, only_b >= 0, both >= 0, rest >= 0, only_a + only_b + both + rest > 0)
    return only_a, only_b, both, rest


def _honest_in_both(threshold_floor: Fraction) -> Build:
    """Negation of: with t >= floor and faulty weight F < W/3, sets with weight > tW share honest weight."""
    def build(solver: z3.Solver) -> None:
        only_a, only_b, both, rest = _partition(solver)
        total = only_a + only_b + both + rest
        t, faulty_in_both, faulty = z3.Reals("t faulty_in_A_and_B faulty_total")
        solver.add(t >= _real(threshold_floor), t < 1)
        solver.add(only_a + both > t * total, only_b + both > t * total)
        solver.add(faulty_in_both >= 0, faulty_in_both <= both, faulty_in_both <= faulty, 3 * faulty < total)
        solver.add(both - faulty_in_both <= 0)  # negation: no honest weight in the overlap
    return build


def _overlap_exceeds_a_third(solver: z3.Solver) -> None:
    """Negation of: two sets each above 2/3 of the weight overlap in more than 1/3 of it."""
    only_a, only_b, both, rest = _partition(solver)
    total = only_a + only_b + both + rest
    solver.add(3 * (only_a + both) > 2 * total, 3 * (only_b + both) > 2 * total)
    solver.add(3 * both <= total)


def _decided_value_has_honest_support(solver: z3.Solver) -> None:
    """Negation of: voters above tW (t >= 2/3) minus faulty weight below W/3 leave honest weight
    above tW - F > 0, so the decided value is an honest agent's input."""
    total, t, support, faulty_support, faulty = z3.Reals("W t support faulty_support faulty_total")
    solver.add(total > 0, t >= _real(BYZANTINE_FLOOR), t < 1, support > t * total, support <= total)
    solver.add(faulty_support >= 0, faulty_support <= faulty, faulty_support <= support, 3 * faulty < total)
    solver.add(support - faulty_support <= t * total - faulty)


def _honest_weight_can_decide(solver: z3.Solver) -> None:
    """Negation of: with t = 2/3 and faulty weight F < W/3, the honest weight W - F exceeds tW
    (so honest agents agreeing on a value can decide without the faulty ones)."""
    total, faulty = z3.Reals("W faulty_total")
    solver.add(total > 0, faulty >= 0, 3 * faulty < total)
    solver.add(3 * (total - faulty) <= 2 * total)


def enumerated_agreement(n: int, threshold: Fraction, byzantine: bool) -> Build:
    """Negation of agreement's core for every weight vector in 0..MAX_WEIGHT of n members at once."""
    def build(solver: z3.Solver) -> None:
        weights = [z3.Int(f"w_{i}") for i in range(n)]
        in_a = [z3.Bool(f"A_{i}") for i in range(n)]
        in_b = [z3.Bool(f"B_{i}") for i in range(n)]
        faulty = [z3.Bool(f"F_{i}") for i in range(n)]
        solver.add(*[z3.And(w >= 0, w <= MAX_WEIGHT) for w in weights])
        total = z3.Sum(weights)

        def weight(members: list[z3.BoolRef]) -> z3.ArithRef:
            return z3.Sum([z3.If(m, w, 0) for m, w in zip(members, weights)])

        solver.add(total > 0)
        t_num, t_den = threshold.numerator, threshold.denominator
        solver.add(t_den * weight(in_a) > t_num * total, t_den * weight(in_b) > t_num * total)
        if byzantine:
            solver.add(3 * weight(faulty) < total)
        else:
            solver.add(*[z3.Not(f) for f in faulty])
        solver.add(*[z3.Not(z3.And(a, b, z3.Not(f))) for a, b, f in zip(in_a, in_b, faulty)])
    return build


def _crash_sets_intersect(threshold_floor: Fraction) -> Build:
    """Negation of: with t >= floor (no faulty agents) two sets above tW share weight."""
    def build(solver: z3.Solver) -> None:
        only_a, only_b, both, rest = _partition(solver)
        total = only_a + only_b + both + rest
        t = z3.Real("t")
        solver.add(t >= _real(threshold_floor), t < 1)
        solver.add(only_a + both > t * total, only_b + both > t * total)
        solver.add(both <= 0)
    return build


def refuted_crash_variant() -> ProofResult:
    """Crash mode with a threshold allowed down to 2/5: Z3 must find two disjoint deciding sets."""
    return prove_unsat("WV-S1", "crash mode, threshold >= 2/5: deciding sets intersect",
                       _crash_sets_intersect(Fraction(2, 5)))


def refuted_byzantine_variant() -> ProofResult:
    """Byzantine mode with threshold 1/2: Z3 must find deciding sets overlapping only in faulty weight."""
    return prove_unsat("WV-S1", "Byzantine mode, threshold >= 1/2: an honest agent is in both sets",
                       _honest_in_both(Fraction(1, 2)))


def run() -> list[ProofResult]:
    results = code_checks()
    results += [
        prove_unsat("WV-S1", "t >= 2/3, faulty weight < W/3: two deciding sets share an honest agent",
                    _honest_in_both(BYZANTINE_FLOOR), "reals; t symbolic in [2/3, 1)"),
        prove_unsat("WV-S1", "two sets above 2/3 of the weight overlap in more than 1/3 of it",
                    _overlap_exceeds_a_third, "reals: (a+c) + (b+c) > 4W/3 and a+b+c <= W give c > W/3"),
        prove_unsat("WV-S2", "a value backed above tW has honest supporters weighing > tW - F > 0",
                    _decided_value_has_honest_support, "reals; t symbolic in [2/3, 1), F < W/3"),
        prove_unsat("WV-L1", "faulty weight < W/3 leaves honest weight above 2/3",
                    _honest_weight_can_decide, "reals: W - F > 2W/3 whenever F < W/3"),
    ]
    for n in ENUMERATED_SIZES:
        results.append(prove_unsat(
            "WV-S1", f"Byzantine mode, every weight vector in 0..{MAX_WEIGHT}^{n}: honest agent in both sets",
            enumerated_agreement(n, BYZANTINE_FLOOR, byzantine=True),
            f"{n} Int weights, {3 * n} Bool membership variables, one query"))
        results.append(prove_unsat(
            "WV-S1", f"crash mode, every weight vector in 0..{MAX_WEIGHT}^{n}: deciding sets intersect",
            enumerated_agreement(n, CRASH_FLOOR, byzantine=False),
            f"{n} Int weights, {2 * n} Bool membership variables, one query"))
    results += [
        prove_unsat("WV-S1", "crash mode, t >= 1/2: two deciding sets intersect",
                    _crash_sets_intersect(CRASH_FLOOR), "reals; t symbolic in [1/2, 1)"),
        expect_refuted(refuted_crash_variant(), "the check bites: crash threshold 2/5 admits disjoint deciding sets"),
        expect_refuted(refuted_byzantine_variant(),
                       "the check bites: Byzantine threshold 1/2 lets deciding sets overlap only in faulty weight"),
    ]
    return results
