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

The lemmas are about :func:`quorum`, :func:`max_faulty` and :func:`join_threshold`,
formulas over Z3 integers. They are about the replicas because :func:`code_checks`
reads the code when it runs (``mabeam.protocols.pbft.config``, ``PBFTConfig`` and
the thresholds a built ``PBFTReplica`` holds) at every n up to :data:`CODE_SIZES`
(replicas: :data:`MACHINE_SIZES`) and every f with n >= 3f+1, and proves it equal
to them; the enumerated checks take their quorum and f from the code directly.
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import InsufficientReplicasError, Membership
from mabeam.core.auth import SymbolicAuthenticator
from mabeam.models.conformance import Point, accepts, code_equals_formula, evaluate, size_pairs
from mabeam.protocols.pbft import config, machine

#: group sizes enumerated with one Bool per replica and set
BOOL_ENUMERATED = range(1, 11)
#: group sizes checked one by one on cardinalities (every f with n >= 3f+1)
SIZE_ENUMERATED = range(1, 101)
#: sizes of NEW-VIEW proofs enumerated for the certificate selection rule
PROOF_SIZES = range(1, 8)
#: the config's functions are compared with the formulas at every n up to CODE_SIZES, every f with n >= 3f+1
CODE_SIZES = 100
#: replicas are built (and their thresholds read) at every n up to MACHINE_SIZES, every f with n >= 3f+1
MACHINE_SIZES = 64


def quorum(n: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    """The quorum the lemmas use: (n + f) // 2 + 1 (Z3 integer division)."""
    return (n + f) / 2 + 1


def prepare_quorum(n: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    """Prepares a prepared certificate needs besides the pre-prepare: q - 1, so q replicas in all."""
    return quorum(n, f) - 1


def max_faulty(n: z3.ArithRef) -> z3.ArithRef:
    """The fault bound the lemmas use: (n - 1) // 3, the largest f with n >= 3f + 1."""
    return (n - 1) / 3


def join_threshold(f: z3.ArithRef) -> z3.ArithRef:
    """VIEW-CHANGEs for higher views that pull a replica along (the lemma: f+1 include an honest one)."""
    return f + 1


def resilient(n: z3.ArithRef, f: z3.ArithRef) -> z3.BoolRef:
    """The sizes every lemma assumes: n >= 3f + 1."""
    return n >= 3 * f + 1


Size = Callable[[z3.ArithRef, z3.ArithRef], z3.ArithRef]


# ------------------------------------------------------------------ the code's thresholds
def _bounded_sizes(max_n: int) -> list[tuple[int, int]]:
    """Every (n, f) with n <= max_n and n >= 3f + 1, computed here (not with the code's ``max_faulty``)."""
    return size_pairs(max_n, lambda n: (n - 1) // 3)


def _replicas() -> dict[tuple[int, int], machine.PBFTReplica]:
    """A replica of every (n, f) up to :data:`MACHINE_SIZES`, built from the code as it is now."""
    built = {}
    for n in range(1, MACHINE_SIZES + 1):
        members = Membership.of_size(n)
        auth = SymbolicAuthenticator((*members.agents, "c0"))
        requests = config.signed_requests(auth, "s0", (("c0", "x"),))
        for f in range((n - 1) // 3 + 1):
            built[(n, f)] = machine.PBFTReplica(config.PBFTConfig(
                membership=members, f=f, auth=auth, requesters=("c0",), requests=requests))
    return built


def _config_accepts(n: int, f: int) -> bool:
    """Whether ``PBFTConfig`` accepts n replicas tolerating f (it refuses with InsufficientReplicasError)."""
    members = Membership.of_size(n)
    auth = SymbolicAuthenticator((*members.agents, "c0"))
    requests = config.signed_requests(auth, "s0", (("c0", "x"),))
    return accepts(lambda: config.PBFTConfig(membership=members, f=f, auth=auth, requesters=("c0",),
                                             requests=requests), InsufficientReplicasError)


def code_checks() -> list[ProofResult]:
    """The code's quorum, fault bound and view-change threshold equal the lemmas' formulas.

    Each replica threshold is read from built replicas: the machine derives them from
    ``PBFTConfig.quorum`` and ``join_threshold`` itself, so a change there is seen too.
    """
    n, f = z3.Ints("n f")
    sizes = _bounded_sizes(CODE_SIZES)
    in_bound = f"n = 1..{CODE_SIZES}, f = 0..(n-1)//3"
    replicas = _replicas()
    on_replicas = f"every replica built for n = 1..{MACHINE_SIZES}, f = 0..(n-1)//3"

    def attribute(name: str) -> list[tuple[Point, object]]:
        return [(size, getattr(replica, name)) for size, replica in replicas.items()]

    refusals = [(k, x) for k in range(1, MACHINE_SIZES + 1) for x in range(k // 3 + 2)]
    results = [
        code_equals_formula("PBFT-S1", "config.quorum(n, f) = (n+f)//2 + 1", [n, f], quorum,
                            evaluate(lambda k, x: config.quorum(k, x), sizes), in_bound),
        code_equals_formula("PBFT-S1", "config.max_faulty(n) = (n-1)//3", [n], max_faulty,
                            evaluate(lambda k: config.max_faulty(k), [(k,) for k in range(1, CODE_SIZES + 1)]),
                            f"n = 1..{CODE_SIZES}"),
        code_equals_formula("PBFT-S1", "PBFTConfig(n, f) is accepted iff n >= 3f+1", [n, f], resilient,
                            evaluate(_config_accepts, refusals), f"n = 1..{MACHINE_SIZES}, f = 0..n//3 + 1"),
        code_equals_formula("PBFT-S1", "PBFTConfig(n, f).quorum = (n+f)//2 + 1", [n, f], quorum,
                            [(size, replica.config.quorum) for size, replica in replicas.items()], on_replicas),
        code_equals_formula("PBFT-S1", "PBFTReplica.commit_quorum = (n+f)//2 + 1", [n, f], quorum,
                            attribute("commit_quorum"), on_replicas),
        code_equals_formula("PBFT-S2", "PBFTReplica.prepare_quorum = (n+f)//2 (q - 1 besides the pre-prepare)",
                            [n, f], prepare_quorum, attribute("prepare_quorum"), on_replicas),
        code_equals_formula("PBFT-S4", "PBFTReplica.new_view_quorum = (n+f)//2 + 1", [n, f], quorum,
                            attribute("new_view_quorum"), on_replicas),
        code_equals_formula("PBFT-S7", "PBFTReplica.checkpoint_quorum = (n+f)//2 + 1", [n, f], quorum,
                            attribute("checkpoint_quorum"), on_replicas),
        code_equals_formula("PBFT-S1", "PBFTReplica.certificate_quorum = (n+f)//2 + 1 (catch-up)", [n, f], quorum,
                            attribute("certificate_quorum"), on_replicas),
        code_equals_formula("PBFT-L3", "config.join_threshold(f) = f + 1", [f], join_threshold,
                            evaluate(lambda x: config.join_threshold(x), [(x,) for x in range(CODE_SIZES // 3 + 1)]),
                            f"f = 0..{CODE_SIZES // 3}"),
        code_equals_formula("PBFT-L3", "PBFTReplica.join_threshold = f + 1", [n, f], lambda _, x: join_threshold(x),
                            attribute("join_threshold"), on_replicas),
    ]
    return results


def _max_faulty_is_the_bound(solver: z3.Solver) -> None:
    """Negation of: (n-1)//3 is the largest f with n >= 3f+1, so the lemmas' f ranges over the code's."""
    n = z3.Int("n")
    f = max_faulty(n)
    solver.add(n >= 1, z3.Or(f < 0, z3.Not(resilient(n, f)), resilient(n, f + 1)))


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
    """Negation of honest quorum intersection for one n, one Bool per replica and set
    (f and the quorum are the code's: ``config.max_faulty(n)``, ``config.quorum(n, f)``)."""
    f = config.max_faulty(n)

    def build(solver: z3.Solver) -> None:
        in_a = [z3.Bool(f"A_{i}") for i in range(n)]
        in_b = [z3.Bool(f"B_{i}") for i in range(n)]
        bad = [z3.Bool(F"F_{i}") for i in range(n)]
        solver.add(z3.AtLeast(*in_a, config.quorum(n, f)), z3.AtLeast(*in_b, config.quorum(n, f)))
        solver.add(z3.AtMost(*bad, f) if f else z3.And(*[z3.Not(x) for x in bad]))
        solver.add(*[z3.Implies(z3.And(x, y), z) for x, y, z in zip(in_a, in_b, bad)])
    return build


def _f_plus_one_holds_an_honest(solver: z3.Solver) -> None:
    """Negation of: any f+1 distinct replicas include an honest one (the join rule)."""
    f, senders, faulty_senders = z3.Ints("f senders faulty_senders")
    solver.add(f >= 0, senders >= join_threshold(f), faulty_senders <= f, faulty_senders >= senders)


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
    """The same for one n, one Bool per replica: certificate senders, quorum, faulty
    (f, the certificate's size and the quorum are the code's)."""
    f = config.max_faulty(n)

    def build(solver: z3.Solver) -> None:
        signed = [z3.Bool(f"C_{i}") for i in range(n)]
        other = [z3.Bool(f"Q_{i}") for i in range(n)]
        bad = [z3.Bool(f"F_{i}") for i in range(n)]
        solver.add(z3.AtLeast(*signed, config.quorum(n, f)), z3.AtLeast(*other, config.quorum(n, f)))
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
    results = code_checks()
    results += [
        prove_unsat("PBFT-S1", "(n-1)//3 is the largest f with n >= 3f+1", _max_faulty_is_the_bound,
                    "for all n >= 1: the lemmas' f ranges up to the code's max_faulty"),
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
            "PBFT-S2", f"quorums share an honest replica, n = {n}, f = {config.max_faulty(n)} (enumerated)",
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
