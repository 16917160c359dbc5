"""Z3 checks of the hierarchical certificate and upper-level arithmetic (spec: ``spec/hierarchical.md``).

The exhaustive checker covers a few fixed layouts; these checks cover every
group size ``n_g <= MAX_N`` and every upper level of ``G <= MAX_N`` groups. Each
claim is proved by asserting its negation and getting ``unsat``:

* a certificate of ``q_g = (n_g + f_g) // 2 + 1`` (or ``2 f_g + 1``) signatures
  with at most ``f_g`` faulty members has an honest signer (HIER-S2);
* two certificates for different values cannot both exist while the group has at
  most ``f_g`` faults, since honest members sign once (HIER-S4), symbolically and
  with explicit member sets for every ``n_g <= MAX_ENUMERATED``;
* ``n_g >= 3 f_g + 1`` lets the honest members certify alone (HIER-S1, HIER-L1);
* counting each group with more than ``f_g`` faults as one faulty vote above, an
  upper level with ``G >= 3F + 1`` and ``T = (G + F) // 2 + 1`` cannot decide two
  values and its correct groups reach ``T`` (HIER-S3, HIER-L1);
* the checks bite: ``f_g + 1`` signatures, ``n_g = 3 f_g`` and counting an over-bound
  group as honest all yield counterexamples.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat

#: symbolic checks range over all sizes up to this bound
MAX_N = 64
#: explicit-set checks enumerate member subsets for every group size up to this bound
MAX_ENUMERATED = 7

Build = Callable[[z3.Solver], None]


def _group(solver: z3.Solver, quorum: str = "general") -> tuple[z3.ArithRef, z3.ArithRef, z3.ArithRef]:
    """n, f within bounds and the quorum q: (n + f) // 2 + 1, 2f + 1, or the mutant f + 1."""
    n, f, q = z3.Ints("n_g f_g q_g")
    solver.add(n >= 1, n <= MAX_N, f >= 0)
    if quorum == "general":
        solver.add(q == (n + f) / 2 + 1)
    elif quorum == "classic":
        solver.add(n == 3 * f + 1, q == 2 * f + 1)
    else:
        solver.add(q == f + 1)
    return n, f, q


def _certificate_has_honest_signer(quorum: str) -> Build:
    def build(solver: z3.Solver) -> None:
        n, f, q = _group(solver, quorum)
        solver.add(n >= 3 * f + 1)
        faulty_signers = z3.Int("faulty_signers")
        solver.add(faulty_signers >= 0, faulty_signers <= f, q <= n)
        solver.add(faulty_signers >= q)  # negation: every signer faulty
    return build


def _no_two_certificates(quorum: str, bound: bool = True) -> Build:
    """Negation of: certificates A (value x) and B (value y) with <= f faults share only faulty signers."""
    def build(solver: z3.Solver) -> None:
        n, f, q = _group(solver, quorum)
        if bound:
            solver.add(n >= 3 * f + 1)
        a, b, both = z3.Ints("A_only B_only A_and_B")
        solver.add(a >= 0, b >= 0, both >= 0, a + b + both <= n)
        solver.add(a + both >= q, b + both >= q)
        solver.add(both <= f)  # honest members sign once: the overlap is all faulty
    return build


def _enumerated_two_certificates(n: int) -> Build:
    """The same claim with explicit member sets of one n and every f within its bound."""
    def build(solver: z3.Solver) -> None:
        f = z3.Int("f_g")
        solver.add(f >= 0, n >= 3 * f + 1)
        q = (n + f) / 2 + 1
        in_a = [z3.Bool(f"A_{i}") for i in range(n)]
        in_b = [z3.Bool(f"B_{i}") for i in range(n)]
        faulty = [z3.Bool(f"F_{i}") for i in range(n)]

        def size(members: list[z3.BoolRef]) -> z3.ArithRef:
            return z3.Sum([z3.If(m, 1, 0) for m in members])

        solver.add(size(in_a) >= q, size(in_b) >= q, size(faulty) <= f)
        solver.add(*[z3.Implies(z3.And(x, y), bad) for x, y, bad in zip(in_a, in_b, faulty)])
    return build


def _honest_can_certify(solver: z3.Solver) -> None:
    """Negation of: with n >= 3f + 1 the n - f honest members reach q on their own."""
    n, f, q = _group(solver)
    solver.add(n >= 3 * f + 1, n - f < q)


def _undersized_group_stalls(solver: z3.Solver) -> None:
    """Negation of "n = 3f, f >= 1 lets honest members certify": Z3 must find they cannot (refuted)."""
    n, f, q = _group(solver)
    solver.add(f >= 1, n == 3 * f, n - f < q)


def _upper_agreement(account_over_bound: bool) -> Build:
    """Negation of: with G >= 3F + 1 counted groups, two values each reaching T certified group votes
    overlap only in groups faulty above. ``account_over_bound=False`` is the mutant that counts an
    over-bound group as honest (F one too small)."""
    def build(solver: z3.Solver) -> None:
        g, faulty, declared = z3.Ints("G F_over_bound F_declared")
        solver.add(g >= 1, g <= MAX_N, faulty >= 0, faulty <= g)
        if account_over_bound:
            solver.add(declared == faulty)
        else:
            solver.add(faulty >= 1, declared == faulty - 1)
        solver.add(g >= 3 * declared + 1)
        t = (g + declared) / 2 + 1
        x_only, y_only, both = z3.Ints("x_only y_only x_and_y")
        solver.add(x_only >= 0, y_only >= 0, both >= 0, x_only + y_only + both <= g)
        solver.add(x_only + both >= t, y_only + both >= t)
        # a group within its bound certifies one value (HIER-S4), so groups voting both are faulty above
        solver.add(both <= faulty)
    return build


def _upper_liveness(solver: z3.Solver) -> None:
    """Negation of: G >= 3F + 1 leaves G - F correct groups, at least T = (G + F) // 2 + 1."""
    g, faulty = z3.Ints("G F")
    solver.add(g >= 1, g <= MAX_N, faulty >= 0, g >= 3 * faulty + 1)
    solver.add(g - faulty < (g + faulty) / 2 + 1)


def run() -> list[ProofResult]:
    results = [
        prove_unsat("HIER-S2", f"a (n+f)//2+1 certificate with <= f faulty signers has an honest one (n <= {MAX_N})",
                    _certificate_has_honest_signer("general"), "Ints n, f, q symbolic"),
        prove_unsat("HIER-S2", "a 2f+1 certificate (n = 3f+1) has an honest signer",
                    _certificate_has_honest_signer("classic"), f"Ints, n = 3f+1 <= {MAX_N}"),
        prove_unsat("HIER-S4", f"no two certificates for different values with <= f faults (n <= {MAX_N})",
                    _no_two_certificates("general"), "overlap >= 2q - n >= f + 1"),
        prove_unsat("HIER-S4", "no two 2f+1 certificates for different values (n = 3f+1)",
                    _no_two_certificates("classic"), f"Ints, n = 3f+1 <= {MAX_N}"),
    ]
    for n in range(1, MAX_ENUMERATED + 1):
        results.append(prove_unsat(
            "HIER-S4", f"n_g = {n}, every f_g in bound: explicit certificates A, B share an honest signer",
            _enumerated_two_certificates(n), f"{3 * n} Bool membership variables"))
    results += [
        prove_unsat("HIER-S1", f"n >= 3f+1 lets the n - f honest members form a certificate (n <= {MAX_N})",
                    _honest_can_certify, "Ints"),
        prove_unsat("HIER-L1", f"G >= 3F+1 groups leave >= T correct groups (G <= {MAX_N})",
                    _upper_liveness, "Ints"),
        prove_unsat("HIER-S3", f"over-bound groups counted in F: two values cannot both reach T (G <= {MAX_N})",
                    _upper_agreement(True), "Ints; overlap of two T-sets is all faulty-above groups"),
        expect_refuted(prove_unsat("HIER-S2", "certificates of f+1 signatures: two for different values",
                                   _no_two_certificates("mutant")),
                       "the check bites: f_g+1 signatures admit two certificates for different values"),
        expect_refuted(prove_unsat("HIER-S1", "n = 3f: honest members certify alone", _undersized_group_stalls),
                       "the check bites: an undersized group (n = 3f) cannot certify without faulty help"),
        expect_refuted(prove_unsat("HIER-S3", "over-bound group counted honest: two values cannot both reach T",
                                   _upper_agreement(False)),
                       "the check bites: counting an over-bound group as honest lets two values reach T"),
    ]
    return results
