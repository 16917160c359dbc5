"""Z3 checks of the simple-majority quorum arithmetic (spec: ``spec/majority.md``).

The exhaustive checker covers n = 3; these checks cover every group size. Each
claim is proved by asserting its negation and getting ``unsat``.

The lemmas are about :func:`quorum` and :func:`tolerance`, the formulas over
Z3 integers. They are about the protocol because the first checks read the
code (``mabeam.protocols.majority.config``, looked up when the check runs, and
the machine's own ``quorum``) at every group size up to :data:`CODE_SIZES` and
prove it equal to those formulas; the enumerated checks use the code's quorum
directly. The last check shows the method can fail: with the off-by-one
quorum ``n//2`` Z3 finds two disjoint quorums, so a proof here is not vacuous.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import Membership
from mabeam.models.conformance import code_equals_formula, evaluate
from mabeam.protocols.majority import config, machine

#: every group size the Bool-vector enumeration covers, one query each
ENUMERATED_SIZES = range(1, 13)
#: the code's thresholds are compared with the formulas at every group size 1..CODE_SIZES
CODE_SIZES = 256
#: machines are built (and their quorum read) for every group size 1..MACHINE_SIZES
MACHINE_SIZES = 64


def quorum(n: z3.ArithRef) -> z3.ArithRef:
    """The simple-majority quorum the lemmas use: n//2 + 1 (Z3 integer division)."""
    return n / 2 + 1


def tolerance(n: z3.ArithRef) -> z3.ArithRef:
    """The crash bound the lemmas use: (n - 1)//2, the largest f with 2f < n."""
    return (n - 1) / 2


def _machine_quorum(n: int) -> int:
    """The quorum a built machine of n members decides on (what ``on_message`` compares against)."""
    members = Membership.of_size(n)
    return machine.MajorityVoting(members, {a: "x" for a in members.agents}).quorum


def code_checks() -> list[ProofResult]:
    """The code's quorum and crash bound equal :func:`quorum` and :func:`tolerance` at every size."""
    n = z3.Int("n")
    sizes = [(k,) for k in range(1, CODE_SIZES + 1)]
    return [
        code_equals_formula("MAJ-S1", "config.quorum(n) = n//2 + 1", [n], quorum,
                            evaluate(lambda k: config.quorum(k), sizes), f"n = 1..{CODE_SIZES}"),
        code_equals_formula("MAJ-S5", "MajorityVoting(n members).quorum = n//2 + 1", [n], quorum,
                            evaluate(_machine_quorum, sizes[:MACHINE_SIZES]), f"n = 1..{MACHINE_SIZES}"),
        code_equals_formula("MAJ-L1", "config.crash_tolerance(n) = (n-1)//2", [n], tolerance,
                            evaluate(lambda k: config.crash_tolerance(k), sizes), f"n = 1..{CODE_SIZES}"),
    ]


def _quorums_intersect(size_of_quorum: Callable[[z3.ArithRef], z3.ArithRef]) -> Callable[[z3.Solver], None]:
    """Negation of "any two quorums of an n-group share a member", on cardinalities only.

    |A|, |B| and |A∩B| are integers; inclusion-exclusion gives |A∪B| = |A|+|B|-|A∩B|,
    which cannot exceed n. Quorums are non-empty (n//2+1 >= 1 anyway; the bound keeps the
    off-by-one variant's counterexample meaningful). The negation asks for an empty intersection.
    """
    def build(solver: z3.Solver) -> None:
        n, a, b, both = z3.Ints("n size_A size_B size_A_and_B")
        solver.add(n >= 1, a >= 1, b >= 1, a <= n, b <= n)
        solver.add(both >= 0, both <= a, both <= b, a + b - both <= n)
        solver.add(a >= size_of_quorum(n), b >= size_of_quorum(n))
        solver.add(both == 0)
    return build


def _quorums_intersect_enumerated(n: int) -> Callable[[z3.Solver], None]:
    """Negation of quorum intersection for one concrete n, with one Bool per member and set
    (the quorum is the code's, ``config.quorum(n)``)."""
    def build(solver: z3.Solver) -> None:
        in_a = [z3.Bool(f"A_{i}") for i in range(n)]
        in_b = [z3.Bool(f"B_{i}") for i in range(n)]
        solver.add(z3.AtLeast(*in_a, config.quorum(n)), z3.AtLeast(*in_b, config.quorum(n)))
        solver.add(*[z3.Not(z3.And(x, y)) for x, y in zip(in_a, in_b)])
    return build


def _correct_agents_form_a_quorum(solver: z3.Solver) -> None:
    """Negation of: with f < n/2 crashes, the n - f correct agents still reach n//2 + 1."""
    n, f = z3.Ints("n f")
    solver.add(n >= 1, f >= 0, 2 * f < n)
    solver.add(n - f < quorum(n))


def _tolerance_is_the_crash_bound(solver: z3.Solver) -> None:
    """Negation of: (n-1)//2 is the largest f with 2f < n, so MAJ-L1's "f < n/2" is the code's bound."""
    n = z3.Int("n")
    t = tolerance(n)
    solver.add(n >= 1, z3.Or(t < 0, 2 * t >= n, 2 * (t + 1) < n))


def _quorum_is_strict_majority(solver: z3.Solver) -> None:
    """Negation of: a quorum n//2 + 1 is more than half the group (2q > n)."""
    n = z3.Int("n")
    solver.add(n >= 1, 2 * quorum(n) <= n)


def _backed_value_held_by_majority(solver: z3.Solver) -> None:
    """Negation of: a value with quorum support, one vote per member, is the input of > n/2 members.

    An honest member votes its own input, so the supporters of v are among v's holders.
    """
    n, supporters, holders = z3.Ints("n supporters_of_v holders_of_v")
    solver.add(n >= 1, supporters >= quorum(n), supporters <= holders, holders <= n)
    solver.add(2 * holders <= n)


def refuted_variant() -> ProofResult:
    """The intersection claim with the off-by-one quorum n//2: Z3 must find a counterexample."""
    return prove_unsat("MAJ-S1", "quorum n//2 (mutant quorum-off-by-one): quorums intersect",
                       _quorums_intersect(lambda n: n / 2))


def run() -> list[ProofResult]:
    results = code_checks()
    results += [
        prove_unsat("MAJ-S1", "any two quorums of n//2+1 intersect, for all n >= 1",
                    _quorums_intersect(quorum),
                    "integer cardinalities: |A|+|B|-|A∩B| <= n, |A|,|B| >= n//2+1, |A∩B| = 0 is unsat"),
    ]
    for n in ENUMERATED_SIZES:
        results.append(prove_unsat(
            "MAJ-S1", f"any two quorums of n//2+1 intersect, n = {n} (enumerated)",
            _quorums_intersect_enumerated(n), f"{2 * n} Bool membership variables, quorum {config.quorum(n)}"))
    results += [
        prove_unsat("MAJ-L1", "with f < n/2 crashes the correct agents still form a quorum",
                    _correct_agents_form_a_quorum, "n - f >= n//2 + 1 whenever 2f < n"),
        prove_unsat("MAJ-L1", "(n-1)//2 is the largest crash count f with 2f < n", _tolerance_is_the_crash_bound,
                    "for all n >= 1: 2t < n <= 2(t+1), t = (n-1)//2"),
        prove_unsat("MAJ-S5", "the quorum n//2+1 is a strict majority", _quorum_is_strict_majority,
                    "2(n//2 + 1) > n for all n >= 1"),
        prove_unsat("MAJ-S2", "a quorum-backed value is the input of a strict majority",
                    _backed_value_held_by_majority, "supporters <= holders, supporters >= n//2+1"),
    ]
    results.append(expect_refuted(refuted_variant(), "the check bites: quorum n//2 admits two disjoint quorums"))
    return results
