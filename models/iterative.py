"""Z3 checks of the trimmed-midpoint rule of approximate agreement (spec: ``spec/iterative.md``).

The exhaustive checker covers n = 4, f = 1; these checks cover every n <= 10 and
every f with 3f < n, one query per (n, f), over real-valued inputs. A view is
any set of at least n - f senders (the Byzantine ones, f of them, may report a
different value to each view); the rule keeps, per coordinate, the midpoint of
the (f+1)-th smallest and (f+1)-th largest value of the view. Claims are proved
by asserting their negation and getting ``unsat``; three "bite" checks show the
encoding can fail: trimming f-1 breaks validity, and the 1/2 contraction claim
without the shared-entries precondition is false for n <= 5f (true for n > 5f).

The checks are stated with :func:`quorum`, :func:`resilient`, :func:`trim` and
:func:`round_count`, this model's formulas. :func:`code_checks` reads the code
when it runs (``mabeam.protocols.iterative.config`` and built
``ApproximateAgreement`` machines) at every n <= :data:`CODE_SIZES` and every f,
and on a grid of widths, epsilons and round limits, and proves it equal to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeAlias

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import Membership
from mabeam.models.conformance import code_equals_formula, evaluate, size_pairs
from mabeam.protocols.iterative import config, machine

MAX_N = 10
ROUND_BOUND = 16
#: the code's size arithmetic is compared with the formulas at every n up to CODE_SIZES (machines too)
CODE_SIZES = 64
#: round counts are compared on every width, epsilon and round limit of these grids
WIDTHS = tuple(Fraction(w) for w in ("0", "1/3", "1/2", "1", "3/2", "2", "3", "4", "5", "7", "8", "9", "15",
                                     "16", "17", "100", "1000", "65536", "65537"))
EPSILONS = tuple(Fraction(e) for e in ("1/4", "1/3", "1/2", "1", "2", "3", "10"))
ROUND_LIMITS = (1, 2, 3, 5, 8, 16, 32, 64)
#: :func:`round_count` counts halvings up to this many; the grids stay far below 2**HALVINGS
HALVINGS = 40


Size: TypeAlias = int | z3.ArithRef


def quorum(n: Size, f: Size) -> Size:
    """Values an agent waits for, in the checks below: n - f (of Python or Z3 integers)."""
    return n - f


def resilient(n: Size, f: Size) -> bool | z3.BoolRef:
    """The sizes the checks cover: n > 3f."""
    return n > 3 * f


def trim(f: Size) -> Size:
    """Values dropped from each end of a view before taking the midpoint: f."""
    return f


def round_count(width: z3.ArithRef, epsilon: z3.ArithRef, max_rounds: z3.ArithRef) -> z3.ArithRef:
    """R = min(ceil(log2(width / epsilon)), max_rounds), as Z3 sees it: the number of r >= 0 with
    width > epsilon * 2^r (the halvings still needed after r of them), capped at max_rounds."""
    needed = z3.Sum([z3.If(width > epsilon * 2 ** r, 1, 0) for r in range(HALVINGS)])
    return z3.If(needed < max_rounds, needed, max_rounds)


def sizes(max_n: int = MAX_N) -> list[tuple[int, int]]:
    """Every (n, f) with f >= 1 and 3f < n <= max_n (:func:`resilient`)."""
    return [(n, f) for n in range(4, max_n + 1) for f in range(1, n) if resilient(n, f)]


# ------------------------------------------------------------------ the code's arithmetic
def _machines() -> dict[tuple[int, int], machine.ApproximateAgreement]:
    """A machine of every resilient (n, f), n <= :data:`CODE_SIZES`, built from the code as it is now."""
    built = {}
    for n, f in size_pairs(CODE_SIZES, lambda n: (n - 1) // 3):
        members = Membership.of_size(n)
        built[(n, f)] = machine.ApproximateAgreement(members, dict.fromkeys(members.agents, Fraction(0)), f,
                                                     (0, 1), 1)
    return built


def _machine_rounds(width: Fraction, epsilon: Fraction, max_rounds: int) -> int:
    """The rounds a machine over the domain [0, width] runs."""
    members = Membership.of_size(4)
    return machine.ApproximateAgreement(members, dict.fromkeys(members.agents, Fraction(0)), 1, (0, width),
                                        epsilon, max_rounds=max_rounds).rounds


def code_checks() -> list[ProofResult]:
    """The code's resilience, quorum, trim and round count equal this model's formulas."""
    n, f, max_rounds = z3.Ints("n f max_rounds")
    width, epsilon = z3.Reals("width epsilon")
    pairs = size_pairs(CODE_SIZES, lambda n: (n - 1) // 3)
    machines = _machines()
    grid = [(w, e, m) for w in WIDTHS for e in EPSILONS for m in ROUND_LIMITS]
    if any(w > e * 2 ** (HALVINGS - 1) for w, e, _ in grid):
        raise ValueError("the grid outgrows the halvings round_count counts: raise HALVINGS")
    on_machines = f"every machine built for n = 1..{CODE_SIZES}, f = 0..(n-1)//3"
    on_grid = f"{len(WIDTHS)} widths in [0, 65537] x {len(EPSILONS)} epsilons x max_rounds in {ROUND_LIMITS}"
    return [
        code_equals_formula("IR-S1", "config.resilient(n, f) iff n > 3f", [n, f], resilient,
                            evaluate(lambda k, x: config.resilient(k, x), size_pairs(CODE_SIZES, lambda k: k)),
                            f"n = 1..{CODE_SIZES}, f = 0..n"),
        code_equals_formula("IR-S1", "config.quorum(n, f) = n - f", [n, f], quorum,
                            evaluate(lambda k, x: config.quorum(k, x), pairs), f"n = 1..{CODE_SIZES}, f = 0..(n-1)//3"),
        code_equals_formula("IR-S2", "ApproximateAgreement.quorum = n - f", [n, f], quorum,
                            [(size, m.quorum) for size, m in machines.items()], on_machines),
        code_equals_formula("IR-S1", "ApproximateAgreement.trim = f", [n, f], lambda _, x: trim(x),
                            [(size, m.trim) for size, m in machines.items()], on_machines),
        code_equals_formula("IR-S3", "config.round_count(width, epsilon, max_rounds) "
                            "= min(ceil(log2(width/epsilon)), max_rounds)", [width, epsilon, max_rounds],
                            round_count, evaluate(lambda w, e, m: config.round_count(w, e, m), grid), on_grid),
        code_equals_formula("IR-S3", "ApproximateAgreement(domain [0, width]).rounds "
                            "= min(ceil(log2(width/epsilon)), max_rounds)", [width, epsilon, max_rounds],
                            round_count, evaluate(_machine_rounds, grid), on_grid),
    ]


def _round_count_halves_enough(solver: z3.Solver) -> None:
    """Negation of: :func:`round_count` without its cap, R, satisfies width <= epsilon * 2^R, so the
    IR-S3 checks below (R halvings reach epsilon when width <= epsilon * 2^R) apply to it."""
    width, epsilon = z3.Reals("width epsilon")
    rounds = round_count(width, epsilon, z3.IntVal(HALVINGS))
    solver.add(epsilon > 0, width >= 0, width <= epsilon * 2 ** (HALVINGS - 1))
    solver.add(z3.Or([z3.And(rounds == r, width > epsilon * 2 ** r) for r in range(HALVINGS)]))


def _count(conditions: Sequence[z3.BoolRef]) -> z3.ArithRef:
    return z3.Sum([z3.If(c, 1, 0) for c in conditions])


def _trimmed_midpoint(solver: z3.Solver, tag: str, values: Sequence[z3.ArithRef],
                      included: Sequence[z3.BoolRef], trim: int) -> z3.ArithRef:
    """The midpoint of the (trim+1)-th smallest and (trim+1)-th largest included value."""
    low, high = z3.Reals(f"low_{tag} high_{tag}")
    for bound, beyond, at_or_beyond in ((low, lambda v: v < low, lambda v: v <= low),
                                        (high, lambda v: v > high, lambda v: v >= high)):
        solver.add(z3.Or([z3.And(inc, v == bound) for v, inc in zip(values, included)]))
        solver.add(_count([z3.And(inc, beyond(v)) for v, inc in zip(values, included)]) <= trim)
        solver.add(_count([z3.And(inc, at_or_beyond(v)) for v, inc in zip(values, included)]) >= trim + 1)
    return (low + high) / 2


def _view(n: int, f: int, tag: str, honest: Sequence[z3.ArithRef]
          ) -> tuple[list[z3.ArithRef], list[z3.BoolRef], list[z3.ArithRef]]:
    """Senders 0..n-f-1 honest (shared values), n-f..n-1 Byzantine (values private to this view)."""
    byzantine = [z3.Real(f"byz_{tag}_{k}") for k in range(f)]
    included = [z3.Bool(f"in_{tag}_{s}") for s in range(n)]
    return list(honest) + byzantine, included, byzantine


def _validity(n: int, f: int, dropped: int) -> Callable[[z3.Solver], None]:
    """Negation of: the trimmed midpoint of any view of >= n-f entries lies in the honest range."""
    def build(solver: z3.Solver) -> None:
        honest = [z3.Real(f"h_{s}") for s in range(n - f)]
        values, included, _ = _view(n, f, "A", honest)
        solver.add(_count(included) >= quorum(n, f))
        mid = _trimmed_midpoint(solver, "A", values, included, dropped)
        solver.add(z3.Or(z3.And([mid < h for h in honest]), z3.And([mid > h for h in honest])))
    return build


def _contraction(n: int, f: int, need_shared: bool) -> Callable[[z3.Solver], None]:
    """Negation of: two views sharing >= 2f+1 identical entries end within half the honest range."""
    def build(solver: z3.Solver) -> None:
        honest = [z3.Real(f"h_{s}") for s in range(n - f)]
        # senders are interchangeable (membership is a free choice), so sorting is without loss
        solver.add(*[honest[s] <= honest[s + 1] for s in range(n - f - 1)])
        lo, hi = z3.Reals("honest_lo honest_hi")
        solver.add(*[z3.And(lo <= h, h <= hi) for h in honest])
        a_values, a_in, a_byz = _view(n, f, "A", honest)
        b_values, b_in, b_byz = _view(n, f, "B", honest)
        solver.add(_count(a_in) >= quorum(n, f), _count(b_in) >= quorum(n, f))
        if need_shared:
            shared = [z3.And(a_in[s], b_in[s]) for s in range(n - f)]
            shared += [z3.And(a_in[n - f + k], b_in[n - f + k], a_byz[k] == b_byz[k]) for k in range(f)]
            solver.add(_count(shared) >= 2 * f + 1)
        mid_a = _trimmed_midpoint(solver, "A", a_values, a_in, trim(f))
        mid_b = _trimmed_midpoint(solver, "B", b_values, b_in, trim(f))
        solver.add(mid_a - mid_b > (hi - lo) / 2)
    return build


def _rounds_suffice(rounds: int) -> Callable[[z3.Solver], None]:
    """Negation of: R halvings of a spread <= W leave <= epsilon when W <= epsilon * 2^R."""
    def build(solver: z3.Solver) -> None:
        width, epsilon = z3.Reals("width epsilon")
        spreads = [z3.Real(f"d_{r}") for r in range(rounds + 1)]
        solver.add(epsilon > 0, width >= 0, width <= epsilon * 2 ** rounds)
        solver.add(spreads[0] >= 0, spreads[0] <= width)
        solver.add(*[z3.And(spreads[r + 1] >= 0, spreads[r + 1] <= spreads[r] / 2) for r in range(rounds)])
        solver.add(spreads[rounds] > epsilon)
    return build


def expect_counterexample(id: str, name: str, build: Callable[[z3.Solver], None]) -> ProofResult:
    """A claim that must be *false*: 'proved' here means Z3 found the counterexample."""
    return expect_refuted(prove_unsat(id, name, build))

def run(max_n: int = MAX_N) -> list[ProofResult]:
    results = code_checks()
    results.append(prove_unsat("IR-S3", "round_count's R halvings suffice: width <= epsilon * 2^R",
                               _round_count_halves_enough, f"reals, width <= epsilon * 2^{HALVINGS - 1}"))
    for n, f in sizes(max_n):
        results.append(prove_unsat("IR-S1", f"trimmed midpoint stays in the honest range, n={n} f={f}",
                                   _validity(n, f, trim(f)), "any view of >= n-f entries, f Byzantine values"))
        results.append(prove_unsat(
            "IR-S2", f"views sharing >= 2f+1 entries contract by 1/2, n={n} f={f}",
            _contraction(n, f, need_shared=True), "|mid_A - mid_B| <= (honest range)/2"))
        if n > 5 * f:
            results.append(prove_unsat(
                "IR-S2", f"any two n-f views contract by 1/2 when n > 5f, n={n} f={f}",
                _contraction(n, f, need_shared=False), "no synchrony needed: views share >= n-3f >= 2f+1"))
    results.append(expect_counterexample(
        "IR-S2", "the check bites: plain n-f views need not contract when n <= 5f (n=4 f=1)",
        _contraction(4, 1, need_shared=False)))
    results.append(expect_counterexample(
        "IR-S2", "the check bites: plain n-f views need not contract when n <= 5f (n=5 f=1)",
        _contraction(5, 1, need_shared=False)))
    for n, f in ((4, 1), (7, 2)):
        results.append(expect_counterexample(
            "IR-S1", f"the check bites: trimming f-1 breaks validity (mutant trim-f-minus-1), n={n} f={f}",
            _validity(n, f, f - 1)))
    for rounds in range(ROUND_BOUND + 1):
        results.append(prove_unsat("IR-S3", f"{rounds} halvings reach epsilon when width <= epsilon*2^{rounds}",
                                   _rounds_suffice(rounds), "IR-L1 round bound R = ceil(log2(width/epsilon))"))
    return results
