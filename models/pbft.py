"""Z3 checks of PBFT's quorum arithmetic and view-change rule (spec: ``spec/pbft.md``).

The exhaustive checker covers n = 4, f = 1; these checks cover every size.
Each claim is proved by asserting its negation and getting ``unsat``.

Quorums are ``q(n, f) = (n + f) // 2 + 1`` (``PBFTConfig.quorum``), which is
exactly 2f+1 when n = 3f+1. For larger n, 2f+1 is *not* enough: two 2f+1
quorums of n = 3f+2 may share only f replicas, all of them faulty; the
general quorum keeps the honest intersection. The last checks show the method
can fail: quorums of 2f (mutant ``quorum-2f``) and 2f+1 quorums of n = 3f+2
are refuted, and :func:`run` reports each refutation as a passed bite check.
Catch-up rests on the same arithmetic, stated for a commit certificate
(q signed commits from distinct members): it meets every other quorum in an
honest replica, symbolically and for every n up to the bound; a certificate of
q-1 commits is refuted.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat

#: group sizes enumerated with one Bool per replica and set
BOOL_ENUMERATED = range(1, 11)
#: group sizes checked one by one on cardinalities (every f with n >= 3f+1)
SIZE_ENUMERATED = range(1, 101)
#: sizes of NEW-VIEW proofs enumerated for the certificate selection rule
PROOF_SIZES = range(1, 8)


def quorum(n: z3.ArithRef | int, f: z3.ArithRef | int) -> z3.ArithRef | int:
    """The PBFT quorum of ``mabeam.protocols.pbft.config``: (n + f) // 2 + 1."""
    if isinstance(n, int) and isinstance(f, int):
        return (n + f) // 2 + 1
    return (n + f) / 2 + 1


Size = Callable[[z3.ArithRef, z3.ArithRef], z3.ArithRef]


def _honest_intersection(size: Size, extra: Callable[[z3.ArithRef, z3.ArithRef], z3.BoolRef] | None = None,
                         concrete_n: int | None = None) -> Callable[[z3.Solver], None]:
    """Negation of "two quorums share an honest replica", on cardinalities only.

    |A∩B| >= |A|+|B|-n (inclusion-exclusion); at most f replicas are faulty, so
    the intersection holds an honest one unless |A∩B| <= f.
    """
    def build(solver: z3.Solver) -> None:
        n, f, a, b, both = z3.Ints("n f size_A size_B size_A_and_B")
        solver.add(f >= 0, n >= 3 * f + 1, a <= n, b <= n, a >= size(n, f), b >= size(n, f))
        solver.add(both >= 0, both <= a, both <= b, a + b - both <= n)
        if concrete_n is not None:
            solver.add(n == concrete_n)
        if extra is not None:
            solver.add(extra(n, f))
        solver.add(both <= f)  # every shared replica may be faulty
    return build


def _honest_intersection_enumerated(n: int) -> Callable[[z3.Solver], None]:
    """Negation of honest quorum intersection for one n (f = (n-1)//3), one Bool per replica and set."""
    f = (n - 1) // 3

    def build(solver: z3.Solver) -> None:
        in_a = [z3.Bool(f"A_{i}") for i in range(n)]
        in_b = [z3.Bool(f"B_{i}") for i in range(n)]
        bad = [z3.Bool(F"F_{i}") for i in range(n)]
        solver.add(z3.AtLeast(*in_a, quorum(n, f)), z3.AtLeast(*in_b, quorum(n, f)))
        solver.add(z3.AtMost(*bad, f) if f else z3.And(*[z3.Not(x) for x in bad]))
        solver.add(*[z3.Implies(z3.And(x, y), z) for x, y, z in zip(in_a, in_b, bad)])
    return build


def _f_plus_one_holds_an_honest(solver: z3.Solver) -> None:
    """Negation of: any f+1 distinct replicas include an honest one (the join rule)."""
    f, senders, faulty_senders = z3.Ints("f senders faulty_senders")
    solver.add(f >= 0, senders >= f + 1, faulty_senders <= f, faulty_senders >= senders)


def _honest_replicas_form_a_quorum(solver: z3.Solver) -> None:
    """Negation of: with f faulty, the n - f honest replicas still reach a quorum."""
    n, f = z3.Ints("n f")
    solver.add(f >= 0, n >= 3 * f + 1, n - f < quorum(n, f))


def _committed_value_reaches_every_new_view(solver: z3.Solver) -> None:
    """Negation of: a NEW-VIEW proof holds a VIEW-CHANGE from an honest replica that prepared.

    A value committed-local somewhere has q commits, so at least q - f honest
    replicas prepared it (set P). A NEW-VIEW carries q VIEW-CHANGEs (set Q),
    at least q - f of them honest. If P and Q share no honest replica, the
    honest parts alone exceed n.
    """
    n, f, q, prepared, proof, honest_proof, shared = z3.Ints(
        "n f q honest_prepared proof honest_in_proof shared")
    solver.add(f >= 0, n >= 3 * f + 1, q == quorum(n, f))
    solver.add(prepared >= q - f, proof >= q, honest_proof >= proof - f, honest_proof <= proof)
    solver.add(prepared <= n - f, honest_proof <= n - f, shared >= 0)
    solver.add(prepared + honest_proof - shared <= n - f)  # both are sets of honest replicas
    solver.add(shared == 0)


def _selection_keeps_the_committed_value(k: int) -> Callable[[z3.Solver], None]:
    """Negation of the NEW-VIEW selection rule's safety for a proof of ``k`` VIEW-CHANGEs.

    Certificate i (if present) has view c_i and value val_i. Induction
    hypothesis (PBFT-S2, S4 in earlier views): every certificate of a view
    >= v0 carries the committed value v. Some certificate has view >= v0 (the
    previous check). The rule picks a certificate of the highest view; the
    negation asks for it to carry another value.
    """
    def build(solver: z3.Solver) -> None:
        v0, v = z3.Ints("committed_view committed_value")
        views = [z3.Int(f"c_{i}") for i in range(k)]
        values = [z3.Int(f"val_{i}") for i in range(k)]
        present = [z3.Bool(f"has_{i}") for i in range(k)]
        chosen = z3.Int("chosen")
        for c, val, has in zip(views, values, present):
            solver.add(c >= 0, z3.Implies(z3.And(has, c >= v0), val == v))
        solver.add(z3.Or(*[z3.And(has, c >= v0) for c, has in zip(views, present)]))
        solver.add(chosen >= 0, chosen < k)
        for i in range(k):
            picked = chosen == i
            solver.add(z3.Implies(picked, present[i]))
            solver.add(z3.Implies(picked, z3.And(*[z3.Implies(present[j], views[j] <= views[i])
                                                   for j in range(k)])))
            solver.add(z3.Implies(picked, values[i] != v))
    return build


def _certificate_intersection(concrete_n: int | None = None, size: Size = quorum) -> Callable[[z3.Solver], None]:
    """Negation of: a catch-up certificate's commit senders share an honest replica with every quorum.

    The certificate holds ``size`` commits from distinct members, so at least
    ``size - f`` of its senders are honest replicas that prepared its value; any
    quorum that prepares, commits, or proves a NEW-VIEW has at least ``q - f``
    honest members. Both are sets of the n - f honest replicas; the negation
    asks for them to be disjoint.
    """
    def build(solver: z3.Solver) -> None:
        n, f, cert, honest_cert, other, honest_other, shared = z3.Ints(
            "n f certificate honest_in_certificate quorum honest_in_quorum shared")
        solver.add(f >= 0, n >= 3 * f + 1, cert >= size(n, f), cert <= n, other >= quorum(n, f), other <= n)
        solver.add(honest_cert >= cert - f, honest_cert <= cert, honest_other >= other - f, honest_other <= other)
        solver.add(honest_cert <= n - f, honest_other <= n - f, shared >= 0)
        solver.add(honest_cert + honest_other - shared <= n - f)  # both are sets of honest replicas
        if concrete_n is not None:
            solver.add(n == concrete_n)
        solver.add(shared == 0)
    return build


def _certificate_intersection_enumerated(n: int) -> Callable[[z3.Solver], None]:
    """The same for one n (f = (n-1)//3), one Bool per replica: certificate senders, quorum, faulty."""
    f = (n - 1) // 3

    def build(solver: z3.Solver) -> None:
        signed = [z3.Bool(f"C_{i}") for i in range(n)]
        other = [z3.Bool(f"Q_{i}") for i in range(n)]
        bad = [z3.Bool(f"F_{i}") for i in range(n)]
        solver.add(z3.AtLeast(*signed, quorum(n, f)), z3.AtLeast(*other, quorum(n, f)))
        solver.add(z3.AtMost(*bad, f) if f else z3.And(*[z3.Not(x) for x in bad]))
        solver.add(*[z3.Implies(z3.And(x, y), z) for x, y, z in zip(signed, other, bad)])
    return build


def refuted_short_certificate() -> ProofResult:
    """A certificate of q-1 commits (what mutant ``certificate-unverified`` effectively accepts) must fail."""
    return prove_unsat("PBFT-S1", "a certificate of q-1 commits meets every quorum in an honest replica",
                       _certificate_intersection(size=lambda n, f: quorum(n, f) - 1))


def refuted_quorum_2f() -> ProofResult:
    """Honest intersection with quorums of 2f (mutant ``quorum-2f``): Z3 must find a counterexample."""
    return prove_unsat("PBFT-S1", "quorums of 2f share an honest replica",
                       _honest_intersection(lambda n, f: 2 * f, lambda n, f: n == 3 * f + 1))


def refuted_2f_plus_1_beyond_3f_plus_1() -> ProofResult:
    """Honest intersection with a fixed 2f+1 quorum when n = 3f+2: Z3 must find a counterexample."""
    return prove_unsat("PBFT-S1", "quorums of 2f+1 share an honest replica when n = 3f+2",
                       _honest_intersection(lambda n, f: 2 * f + 1, lambda n, f: n == 3 * f + 2))


def run() -> list[ProofResult]:
    results = [
        prove_unsat("PBFT-S1", "two quorums (n+f)//2+1 share an honest replica, all n >= 3f+1",
                    _honest_intersection(quorum),
                    "cardinalities: |A∩B| >= 2q - n >= f+1"),
        prove_unsat("PBFT-S1", "two 2f+1 quorums of n = 3f+1 share an honest replica, all f",
                    _honest_intersection(lambda n, f: 2 * f + 1, lambda n, f: n == 3 * f + 1),
                    "the checked configuration's case: q(3f+1, f) = 2f+1"),
    ]
    for n in SIZE_ENUMERATED:
        results.append(prove_unsat(
            "PBFT-S2", f"quorums share an honest replica, n = {n}, every f with n >= 3f+1",
            _honest_intersection(quorum, concrete_n=n), "cardinalities with n fixed"))
    for n in BOOL_ENUMERATED:
        results.append(prove_unsat(
            "PBFT-S2", f"quorums share an honest replica, n = {n}, f = {(n - 1) // 3} (enumerated)",
            _honest_intersection_enumerated(n), f"{3 * n} Bool membership variables"))
    results += [
        prove_unsat("PBFT-L3", "any f+1 replicas include an honest one", _f_plus_one_holds_an_honest,
                    "why f+1 VIEW-CHANGEs may pull a replica into a higher view"),
        prove_unsat("PBFT-L1", "the n - f honest replicas form a quorum", _honest_replicas_form_a_quorum,
                    "n - f >= (n+f)//2 + 1 whenever n >= 3f+1"),
        prove_unsat("PBFT-S4", "every NEW-VIEW proof holds an honest replica that prepared a committed value",
                    _committed_value_reaches_every_new_view, "|P| + |Q_honest| - |P∩Q| <= n - f"),
    ]
    results.append(prove_unsat(
        "PBFT-S1", "a commit certificate (q signed commits) meets every quorum in an honest replica, all n >= 3f+1",
        _certificate_intersection(), "why catch-up adopts only the value that committed"))
    for n in SIZE_ENUMERATED:
        results.append(prove_unsat(
            "PBFT-L1", f"a commit certificate meets every quorum in an honest replica, n = {n}",
            _certificate_intersection(concrete_n=n), "catch-up is safe at every size up to the bound"))
    for n in BOOL_ENUMERATED:
        results.append(prove_unsat(
            "PBFT-S1", f"a commit certificate meets every quorum in an honest replica, n = {n} (enumerated)",
            _certificate_intersection_enumerated(n), f"{3 * n} Bool membership variables"))
    for k in PROOF_SIZES:
        results.append(prove_unsat(
            "PBFT-S4", f"the highest-view certificate of a {k}-message NEW-VIEW proof keeps the committed value",
            _selection_keeps_the_committed_value(k), "selection rule over certificate views"))
    results += [
        expect_refuted(refuted_quorum_2f(), "the check bites: quorums of 2f may share only a faulty replica"),
        expect_refuted(refuted_2f_plus_1_beyond_3f_plus_1(),
                       "the check bites: a fixed 2f+1 quorum is unsafe when n = 3f+2"),
        expect_refuted(refuted_short_certificate(),
                       "the check bites: a certificate of q-1 commits may share only faulty replicas with a quorum"),
    ]
    return results
