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
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat

ENUMERATED_SIZES = range(1, 6)
MAX_WEIGHT = 3

Build = Callable[[z3.Solver], None]


def byzantine_quorum(n: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    return (n + f) / 2 + 1  # Int division, as in config.byzantine_quorum


def weighted_quorum(total: z3.ArithRef) -> z3.ArithRef:
    return (2 * total) / 3 + 1


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
    results = [
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
                    _byzantine(lambda n, f, q: 2 * (n / 2 + 1) > n), "Int n unbounded"),
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
                                   _byzantine(lambda n, f, q: 2 * (n / 2 + 1) - n >= f + 1)),
                       "the check bites: simple-majority quorums in a Byzantine stage overlap only in faulty members"),
    ]
    return results


def _crash_bound_leaves_quorum(solver: z3.Solver) -> None:
    n, c = z3.Ints("n c")
    solver.add(n >= 1, c >= 0, 2 * c < n)
    solver.add(n - c < n / 2 + 1)

