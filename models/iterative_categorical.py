"""Z3 checks of categorical refinement's plurality, round and quorum arithmetic
(spec: ``spec/iterative-categorical.md``).

The exhaustive checker covers n = 3 with max_rounds = 2; these checks cover
every view size, candidate count, group size and round bound listed below.
Each claim is proved by asserting its negation and getting ``unsat``:

* IR-C1: the confidence-weighted plurality rule (largest support among the
  answers present in the view, ties to the earliest candidate) always picks
  exactly one answer, and it is an answer of the view; so if every round-r
  answer was proposed, so is every round-(r+1) answer;
* IR-C2: the round rule (stop when stable or at max_rounds, else enter r + 1;
  a final proposal is for r + 1 only if r < max_rounds) keeps every round an
  agent enters or proposes for within 1..max_rounds;
* IR-CL1: with at most f < n crashes, an agent waiting in the lowest open round
  always has n - f proposals to count (:func:`quorum`, the code's ``quorum``),
  because a member that stopped earlier left a final proposal standing for it;
  and the rounds left, max_rounds - r, fall every round, so an agent decides
  within max_rounds rounds.

The quorum, the size bound and the round limit are this model's formulas
(:func:`quorum`, :func:`tolerates`, :func:`round_limit`); :func:`code_checks`
reads the code when it runs (``mabeam.protocols.iterative_categorical.config``
and built ``CategoricalRefinement`` machines) at every n <= :data:`CODE_SIZES`,
every f and every max_rounds <= :data:`CODE_ROUNDS`, and proves it equal to them.

Three checks show the encoding bites: the ``invent-answer`` tie-break, the
``ignore-max-rounds`` round limit and a variant without final proposals are
each refuted with a counterexample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3

from mabeam.api.proofs import ProofResult, expect_refuted, prove_unsat
from mabeam.core import Membership
from mabeam.models.conformance import code_equals_formula, evaluate, size_pairs
from mabeam.protocols.iterative_categorical import config, machine

#: the plurality checks cover every view of up to MAX_VIEW entries over up to MAX_CANDIDATES candidates
MAX_VIEW = 6
MAX_CANDIDATES = 4
#: the waiting-agent check covers every group of up to MAX_N members and every f < n
MAX_N = 7
#: the code's quorum and size bound are compared with the formulas at every n up to CODE_SIZES (machines too)
CODE_SIZES = 64
#: machines are built with every max_rounds up to CODE_ROUNDS (and their round limit read)
CODE_ROUNDS = 64

Build = Callable[[z3.Solver], None]
Rule = Callable[[int, Sequence[z3.ArithRef], Sequence[z3.ArithRef], int], z3.BoolRef]


# ------------------------------------------------------------------ the formulas and the code
def quorum(n: z3.ArithRef, f: z3.ArithRef) -> z3.ArithRef:
    """Round-r proposals an agent waits for, in the checks below: n - f."""
    return n - f


def tolerates(n: z3.ArithRef, f: z3.ArithRef) -> z3.BoolRef:
    """The sizes the checks cover: f < n."""
    return f < n


def round_limit(max_rounds: z3.ArithRef) -> z3.ArithRef:
    """The last round an agent may enter or propose for: max_rounds itself."""
    return max_rounds


def _machine(n: int, f: int, max_rounds: int = 2) -> machine.CategoricalRefinement:
    members = Membership.of_size(n)
    return machine.CategoricalRefinement(members, dict.fromkeys(members.agents, ("x", 1)), ("x", "y"), f,
                                         max_rounds=max_rounds)


def code_checks() -> list[ProofResult]:
    """The code's quorum, size bound and round limit equal :func:`quorum`, :func:`tolerates`, :func:`round_limit`."""
    n, f, max_rounds = z3.Ints("n f max_rounds")
    pairs = size_pairs(CODE_SIZES, lambda k: k - 1)
    machines = {(k, x): _machine(k, x) for k, x in pairs}
    within = f"n = 1..{CODE_SIZES}, f = 0..n-1"
    limits = [(m,) for m in range(1, CODE_ROUNDS + 1)]
    return [
        code_equals_formula("IR-CL1", "config.tolerates(n, f) iff f < n", [n, f], tolerates,
                            evaluate(lambda k, x: config.tolerates(k, x), size_pairs(CODE_SIZES, lambda k: k + 1)),
                            f"n = 1..{CODE_SIZES}, f = 0..n+1"),
        code_equals_formula("IR-CL1", "config.quorum(n, f) = n - f", [n, f], quorum,
                            evaluate(lambda k, x: config.quorum(k, x), pairs), within),
        code_equals_formula("IR-CL1", "CategoricalRefinement.quorum = n - f", [n, f], quorum,
                            [(size, m.quorum) for size, m in machines.items()], f"every machine built for {within}"),
        code_equals_formula("IR-C2", "CategoricalRefinement.round_limit = max_rounds", [max_rounds], round_limit,
                            evaluate(lambda m: _machine(3, 1, m).round_limit, limits),
                            f"machines of n = 3, f = 1, max_rounds = 1..{CODE_ROUNDS}"),
    ]


# ------------------------------------------------------------------ IR-C1: the plurality rule
def _view(solver: z3.Solver, size: int, candidates: int) -> tuple[list[z3.ArithRef], list[z3.ArithRef]]:
    """``size`` entries, each a candidate index and a confidence >= 0 (any rationals)."""
    answers = [z3.Int(f"answer_{i}") for i in range(size)]
    confidences = [z3.Real(f"confidence_{i}") for i in range(size)]
    solver.add(*[z3.And(a >= 0, a < candidates) for a in answers], *[q >= 0 for q in confidences])
    return answers, confidences


def _support(c: int, answers: Sequence[z3.ArithRef], confidences: Sequence[z3.ArithRef]) -> z3.ArithRef:
    return z3.Sum([z3.If(a == c, q, 0) for a, q in zip(answers, confidences)])


def _present(c: int, answers: Sequence[z3.ArithRef]) -> z3.BoolRef:
    return z3.Or([a == c for a in answers])


def plurality_is(c: int, answers: Sequence[z3.ArithRef], confidences: Sequence[z3.ArithRef],
                 candidates: int) -> z3.BoolRef:
    """The machine's rule picks candidate ``c``: present, no present candidate has more
    support, and every earlier present candidate has strictly less."""
    mine = _support(c, answers, confidences)
    others = [(d, _present(d, answers), _support(d, answers, confidences)) for d in range(candidates)]
    return z3.And(_present(c, answers),
                  *[z3.Implies(present, support <= mine) for _, present, support in others],
                  *[z3.Implies(present, support < mine) for d, present, support in others if d < c])


def invented_on_tie(c: int, answers: Sequence[z3.ArithRef], confidences: Sequence[z3.ArithRef],
                    candidates: int) -> z3.BoolRef:
    """Mutant ``invent-answer``: a unique leader wins, a tie goes to the first candidate overall."""
    supports = [_support(d, answers, confidences) for d in range(candidates)]
    leads = [z3.And(_present(d, answers),
                    *[z3.Implies(_present(e, answers), supports[e] <= supports[d]) for e in range(candidates)])
             for d in range(candidates)]
    tie = z3.Sum([z3.If(lead, 1, 0) for lead in leads]) > 1
    return z3.If(tie, c == 0, leads[c])


def _plurality_exists_and_is_unique(size: int, candidates: int) -> Build:
    """Negation of: exactly one candidate satisfies the rule, for every view."""
    def build(solver: z3.Solver) -> None:
        answers, confidences = _view(solver, size, candidates)
        winners = [plurality_is(c, answers, confidences, candidates) for c in range(candidates)]
        solver.add(z3.Sum([z3.If(w, 1, 0) for w in winners]) != 1)
    return build


def _plurality_was_proposed(size: int, candidates: int, rule: Rule = plurality_is) -> Build:
    """Negation of: if every entry of the view is a proposed answer, so is the rule's pick."""
    def build(solver: z3.Solver) -> None:
        answers, confidences = _view(solver, size, candidates)
        proposed = [z3.Bool(f"proposed_{c}") for c in range(candidates)]
        solver.add(*[z3.Implies(a == c, proposed[c]) for a in answers for c in range(candidates)])
        solver.add(z3.Or([z3.And(rule(c, answers, confidences, candidates), z3.Not(proposed[c]))
                          for c in range(candidates)]))
    return build


# ------------------------------------------------------------------ IR-C2: the round rule
def _rounds_stay_bounded(limit_of: Callable[[z3.ArithRef], z3.ArithRef]) -> Build:
    """Negation of: from a round r in 1..M, the next round entered, a decision's round and
    a final proposal's round all lie in 1..M (M = max_rounds, the limit is the machine's
    ``round_limit``)."""
    def build(solver: z3.Solver) -> None:
        max_rounds, r = z3.Ints("max_rounds r")
        stable = z3.Bool("stable")
        limit = limit_of(max_rounds)
        solver.add(max_rounds >= 1, r >= 1, r <= max_rounds)
        stop = z3.Or(stable, r >= limit)
        solver.add(z3.Or(z3.And(z3.Not(stop), r + 1 > max_rounds),  # entered a round past M
                         z3.And(stop, r > max_rounds),  # decided (answer, r) with r > M
                         z3.And(stop, r < limit, r + 1 > max_rounds)))  # a final proposal for a round past M
    return build


# ------------------------------------------------------------------ IR-CL1: enough proposals, bounded rounds
def _live_members_fill_the_quorum(solver: z3.Solver) -> None:
    """Negation of: with c <= f crashes and f < n, the n - c live members reach the quorum, which is >= 1."""
    n, f, crashed = z3.Ints("n f crashed")
    solver.add(f >= 0, tolerates(n, f), crashed >= 0, crashed <= f)
    solver.add(z3.Or(n - crashed < quorum(n, f), quorum(n, f) < 1))


def _waiting_agent_hears_a_quorum(n: int, f: int, finals: bool = True, need: int | None = None) -> Build:
    """Negation of: an agent waiting in round r, the lowest round any live member is still
    refining in, can count ``need`` (default: :func:`quorum`, n - f) round-r proposals.

    Member j counts when it is live and either refines in a round >= r (it proposed for every
    round up to its own), or stopped at round d >= r (likewise), or stopped at d < r with a
    final proposal (sent when d < max_rounds) standing for rounds d + 1 on.
    """
    def build(solver: z3.Solver) -> None:
        max_rounds, r = z3.Ints("max_rounds r")
        solver.add(max_rounds >= 1, r >= 1, r <= max_rounds)
        crashed = [z3.Bool(f"crashed_{j}") for j in range(n)]
        done = [z3.Bool(f"done_{j}") for j in range(n)]
        at = [z3.Int(f"round_{j}") for j in range(n)]  # current round, or the decision's round if done
        solver.add(z3.AtMost(*crashed, f), z3.Not(crashed[0]), z3.Not(done[0]), at[0] == r)
        solver.add(*[z3.And(a >= 1, a <= max_rounds) for a in at])
        solver.add(*[z3.Implies(z3.And(z3.Not(c), z3.Not(d)), a >= r) for c, d, a in zip(crashed, done, at)])
        counts = [z3.And(z3.Not(c), z3.Or(a >= r, z3.And(d, a < max_rounds) if finals else False))
                  for c, d, a in zip(crashed, done, at)]
        wanted = quorum(z3.IntVal(n), z3.IntVal(f)) if need is None else need
        solver.add(z3.Sum([z3.If(x, 1, 0) for x in counts]) < wanted)
    return build


def _rounds_left_decrease(solver: z3.Solver) -> None:
    """Negation of: while refining in a round r in 1..M without stopping, the rounds left, M - r,
    are >= 0 and drop by one per round, so an agent decides within M rounds of round 1."""
    max_rounds, r = z3.Ints("max_rounds r")
    stable = z3.Bool("stable")
    solver.add(max_rounds >= 1, r >= 1, r <= max_rounds, z3.Not(z3.Or(stable, r >= max_rounds)))
    left, left_next = max_rounds - r, max_rounds - (r + 1)
    solver.add(z3.Or(left_next < 0, left_next >= left, left > max_rounds - 1))


# ------------------------------------------------------------------ all checks
def _plurality_checks() -> list[ProofResult]:
    results = []
    for size in range(1, MAX_VIEW + 1):
        for candidates in range(1, MAX_CANDIDATES + 1):
            shape = f"view of {size}, {candidates} candidates"
            results.append(prove_unsat("IR-C1", f"the plurality rule picks exactly one answer, {shape}",
                                       _plurality_exists_and_is_unique(size, candidates),
                                       "largest support among present answers, ties to the earliest"))
            results.append(prove_unsat("IR-C1", f"the plurality of proposed answers was proposed, {shape}",
                                       _plurality_was_proposed(size, candidates),
                                       "inductive step of IR-C1: round r+1 answers come from round r views"))
    results.append(expect_refuted(
        prove_unsat("IR-C1", "invent-answer tie-break", _plurality_was_proposed(2, 3, invented_on_tie)),
        "the check bites: a tie sent to the first candidate can pick an unproposed answer (invent-answer)"))
    return results


def _round_checks() -> list[ProofResult]:
    results = [
        prove_unsat("IR-C2", "rounds entered, decided and finally proposed stay within 1..max_rounds",
                    _rounds_stay_bounded(round_limit), "round_limit = max_rounds, any max_rounds >= 1"),
        expect_refuted(prove_unsat("IR-C2", "ignore-max-rounds", _rounds_stay_bounded(lambda m: m + 1)),
                       "the check bites: round_limit = max_rounds + 1 enters round max_rounds + 1"),
    ]
    results.append(prove_unsat("IR-CL1", "an agent decides within max_rounds rounds", _rounds_left_decrease,
                               "ranking function max_rounds - r, from at most max_rounds - 1 at round 1"))
    return results


def _quorum_checks() -> list[ProofResult]:
    results = [prove_unsat("IR-CL1", "with f < n and at most f crashes the live members fill the quorum n - f",
                           _live_members_fill_the_quorum, "all n, f; the quorum is >= 1")]
    for n in range(1, MAX_N + 1):
        for f in range(n):
            results.append(prove_unsat(
                "IR-CL1", f"an agent waiting in the lowest open round counts n - f proposals, n={n} f={f}",
                _waiting_agent_hears_a_quorum(n, f), "finals of stopped members stand for later rounds"))
    results.append(expect_refuted(
        prove_unsat("IR-CL1", "no final proposals", _waiting_agent_hears_a_quorum(3, 1, finals=False)),
        "the check bites: without final proposals a member that stopped early leaves n=3 f=1 waiting"))
    results.append(expect_refuted(
        prove_unsat("IR-CL1", "impossible-quorum", _waiting_agent_hears_a_quorum(3, 1, need=4)),
        "the check bites: a quorum of n + 1 proposals is never reached (impossible-quorum)"))
    return results


def run() -> list[ProofResult]:
    return code_checks() + _plurality_checks() + _round_checks() + _quorum_checks()
