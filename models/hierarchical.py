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

The lemmas are about this model's formulas (:func:`group_quorum`,
:func:`upper_threshold`, :func:`within_bound`, :func:`over_bound`).
:func:`code_checks` reads the code when it runs
(``mabeam.protocols.hierarchical.config``: ``group_quorum``, ``upper_threshold``,
``make_group``, ``validate_upper``, ``faults_above``; and built ``Hierarchical``
machines' ``quorum(group)`` and ``threshold``) at every size up to
:data:`MAX_N`, and proves it equal to them.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import InsufficientReplicasError
from mabeam.models.conformance import accepts, code_equals_formula, evaluate, size_pairs
from mabeam.protocols.hierarchical import config, machine

#: symbolic checks range over all sizes up to this bound (and the code is compared with them up to it)
MAX_N = 64
#: explicit-set checks enumerate member subsets for every group size up to this bound
MAX_ENUMERATED = 7
#: the code's over-bound accounting is read for every group of up to this many members
ACCOUNTED = 16

Build = Callable[[z3.Solver], None]


def group_quorum(n: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    """Signatures a group certificate needs: (n + f) // 2 + 1 (Z3 integer division)."""
    return (n + f) / 2 + 1


def upper_threshold(groups: z3.ArithRef, faulty_groups: z3.ArithRef) -> z3.ArithRef:
    """Certified group votes a judge needs: (G + F) // 2 + 1."""
    return (groups + faulty_groups) / 2 + 1


def within_bound(n: z3.ArithRef, f: z3.ArithRef) -> z3.BoolRef:
    """The size bound of a group (n_g >= 3 f_g + 1) and of the upper level (G >= 3F + 1)."""
    return n >= 3 * f + 1


def over_bound(byzantine: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    """Faulty votes a group counts for above: 1 when it holds more than f_g Byzantine members."""
    return z3.If(byzantine > f, 1, 0)


# ------------------------------------------------------------------ the code's arithmetic
def _members(count: int, prefix: str = "a") -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(count))


def _machine_quorum(n: int, f: int) -> int:
    """The certificate quorum a built hierarchy (one group of n, f) asks of that group."""
    group = config.make_group("g0", _members(n), f)
    built = machine.Hierarchical((group,), ("j0",), dict.fromkeys(group.members, "x"))
    return built.quorum(group)


def _machine_threshold(groups: int, faulty_groups: int) -> int:
    """The upper threshold a built hierarchy of ``groups`` single-member groups decides on."""
    chosen = tuple(config.make_group(f"g{i}", (f"a{i}",), 0) for i in range(groups))
    return machine.Hierarchical(chosen, ("j0",), {g.members[0]: "x" for g in chosen},
                                faulty_groups=faulty_groups).threshold


def _faults_above(n: int, f: int, byzantine: int) -> int:
    return config.faults_above((config.make_group("g0", _members(n), f),), _members(byzantine))


def code_checks() -> list[ProofResult]:
    """The code's quorum, threshold, size bounds and fault accounting equal this model's formulas."""
    n, f, g, faulty, byzantine = z3.Ints("n_g f_g G F byzantine_members")
    pairs = size_pairs(MAX_N, lambda k: (k - 1) // 3)
    beyond = size_pairs(MAX_N, lambda k: k // 3 + 1)
    in_bound = f"n = 1..{MAX_N}, f = 0..(n-1)//3"
    accounted = [(k, x, b) for k, x in size_pairs(ACCOUNTED, lambda k: (k - 1) // 3) for b in range(k + 1)]
    return [
        code_equals_formula("HIER-S2", "config.group_quorum(n, f) = (n+f)//2 + 1", [n, f], group_quorum,
                            evaluate(lambda k, x: config.group_quorum(k, x), pairs), in_bound),
        code_equals_formula("HIER-S2", "make_group(n members, f).quorum = (n+f)//2 + 1", [n, f], group_quorum,
                            evaluate(lambda k, x: config.make_group("g0", _members(k), x).quorum, pairs), in_bound),
        code_equals_formula("HIER-S2", "Hierarchical.quorum(group) = (n+f)//2 + 1", [n, f], group_quorum,
                            evaluate(_machine_quorum, pairs), f"one-group hierarchies, {in_bound}"),
        code_equals_formula("HIER-S1", "make_group(n members, f) is accepted iff n >= 3f+1", [n, f], within_bound,
                            evaluate(lambda k, x: accepts(lambda: config.make_group("g0", _members(k), x),
                                                          InsufficientReplicasError), beyond),
                            f"n = 1..{MAX_N}, f = 0..n//3 + 1"),
        code_equals_formula("HIER-S3", "config.upper_threshold(G, F) = (G+F)//2 + 1", [g, faulty], upper_threshold,
                            evaluate(lambda k, x: config.upper_threshold(k, x), pairs),
                            f"G = 1..{MAX_N}, F = 0..(G-1)//3"),
        code_equals_formula("HIER-S3", "config.validate_upper(G, F) is accepted iff G >= 3F+1", [g, faulty],
                            within_bound, evaluate(lambda k, x: accepts(lambda: config.validate_upper(k, x),
                                                                        InsufficientReplicasError), beyond),
                            f"G = 1..{MAX_N}, F = 0..G//3 + 1"),
        code_equals_formula("HIER-S3", "Hierarchical(G groups, F).threshold = (G+F)//2 + 1", [g, faulty],
                            upper_threshold, evaluate(_machine_threshold, pairs),
                            f"hierarchies of G = 1..{MAX_N} single-member groups, F = 0..(G-1)//3"),
        code_equals_formula("HIER-S3", "config.faults_above(group of n, f; b Byzantine members) = 1 iff b > f",
                            [n, f, byzantine], lambda _, x, b: over_bound(b, x),
                            evaluate(_faults_above, accounted),
                            f"n = 1..{ACCOUNTED}, f = 0..(n-1)//3, b = 0..n Byzantine members"),
    ]


def _group(solver: z3.Solver, quorum: str = "general") -> tuple[z3.ArithRef, z3.ArithRef, z3.ArithRef]:
    """n, f within bounds and the quorum q: (n + f) // 2 + 1, 2f + 1, or the mutant f + 1."""
    n, f, q = z3.Ints("n_g f_g q_g")
    solver.add(n >= 1, n <= MAX_N, f >= 0)
    if quorum == "general":
        solver.add(q == group_quorum(n, f))
    elif quorum == "classic":
        solver.add(n == 3 * f + 1, q == 2 * f + 1)
    else:
        solver.add(q == f + 1)
    return n, f, q


def _certificate_has_honest_signer(quorum: str) -> Build:
    def build(solver: z3.Solver) -> None:
        n, f, q = _group(solver, quorum)
        solver.add(within_bound(n, f))
        faulty_signers = z3.Int("faulty_signers")
        solver.add(faulty_signers >= 0, faulty_signers <= f, q <= n)
        solver.add(faulty_signers >= q)  # negation: every signer faulty
    return build


def _no_two_certificates(quorum: str, bound: bool = True) -> Build:
    """Negation of: certificates A (value x) and B (value y) with <= f faults share only faulty signers."""
    def build(solver: z3.Solver) -> None:
        n, f, q = _group(solver, quorum)
        if bound:
            solver.add(within_bound(n, f))
        a, b, both = z3.Ints("A_only B_only A_and_B")
        solver.add(a >= 0, b >= 0, both >= 0, a + b + both <= n)
        solver.add(a + both >= q, b + both >= q)
        solver.add(both <= f)  # honest members sign once: the overlap is all faulty
    return build


def _enumerated_two_certificates(n: int) -> Build:
    """The same claim with explicit member sets of one n and every f within its bound."""
    def build(solver: z3.Solver) -> None:
        f = z3.Int("f_g")
        solver.add(f >= 0, within_bound(z3.IntVal(n), f))
        q = group_quorum(z3.IntVal(n), f)
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
    solver.add(within_bound(n, f), n - f < q)


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
        solver.add(within_bound(g, declared))
        t = upper_threshold(g, declared)
        x_only, y_only, both = z3.Ints("x_only y_only x_and_y")
        solver.add(x_only >= 0, y_only >= 0, both >= 0, x_only + y_only + both <= g)
        solver.add(x_only + both >= t, y_only + both >= t)
        # a group within its bound certifies one value (HIER-S4), so groups voting both are faulty above
        solver.add(both <= faulty)
    return build


def _upper_liveness(solver: z3.Solver) -> None:
    """Negation of: G >= 3F + 1 leaves G - F correct groups, at least T = (G + F) // 2 + 1."""
    g, faulty = z3.Ints("G F")
    solver.add(g >= 1, g <= MAX_N, faulty >= 0, within_bound(g, faulty))
    solver.add(g - faulty < upper_threshold(g, faulty))


def run() -> list[ProofResult]:
    results = code_checks()
    results += [
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
