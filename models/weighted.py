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
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat

#: the enumerated check covers every weight vector of these sizes with weights in 0..MAX_WEIGHT
ENUMERATED_SIZES = range(1, 6)
MAX_WEIGHT = 3

Build = Callable[[z3.Solver], None]


def _real(value: Fraction) -> z3.ArithRef:
    return z3.RealVal(f"{value.numerator}/{value.denominator}")


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
    solver.add(total > 0, t >= _real(Fraction(2, 3)), t < 1, support > t * total, support <= total)
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
    results = [
        prove_unsat("WV-S1", "t >= 2/3, faulty weight < W/3: two deciding sets share an honest agent",
                    _honest_in_both(Fraction(2, 3)), "reals; t symbolic in [2/3, 1)"),
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
            enumerated_agreement(n, Fraction(2, 3), byzantine=True),
            f"{n} Int weights, {3 * n} Bool membership variables, one query"))
        results.append(prove_unsat(
            "WV-S1", f"crash mode, every weight vector in 0..{MAX_WEIGHT}^{n}: deciding sets intersect",
            enumerated_agreement(n, Fraction(1, 2), byzantine=False),
            f"{n} Int weights, {2 * n} Bool membership variables, one query"))
    results += [
        prove_unsat("WV-S1", "crash mode, t >= 1/2: two deciding sets intersect",
                    _crash_sets_intersect(Fraction(1, 2)), "reals; t symbolic in [1/2, 1)"),
        expect_refuted(refuted_crash_variant(), "the check bites: crash threshold 2/5 admits disjoint deciding sets"),
        expect_refuted(refuted_byzantine_variant(),
                       "the check bites: Byzantine threshold 1/2 lets deciding sets overlap only in faulty weight"),
    ]
    return results
