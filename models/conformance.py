"""The bridge from a protocol's code to its Z3 lemmas: the code's thresholds equal the lemmas' formulas.

Each model proves its lemmas for *all* sizes about a symbolic formula, such as
``(n + f) / 2 + 1`` over Z3 integers. On their own those lemmas are about a
copy of the arithmetic: change the quorum in the protocol's ``config.py`` and
they stay green. :func:`code_equals_formula` closes the gap on a bounded
domain. The model evaluates the code at every point of the domain, reading
the config module's attribute when it runs (so a changed, or monkeypatched,
threshold is what gets evaluated), and Z3 is asked whether the formula (the
very Python function the lemmas call, applied to Z3 variables) differs from
the code's value at any of those points. ``unsat`` means that up to the bound
the lemmas are about the code's numbers; a mismatch is reported as
``refuted`` with the point, the code's value and the formula's.

Every such result's name starts with :data:`CODE_PREFIX`, so a reader (and the
code-changing tests in ``tests/test_z3_reads_code.py``) can tell a broken
threshold from a broken lemma.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from mabeam.api.proofs import ProofResult, prove_unsat

#: the start of the name of every "the code equals the formula" result
CODE_PREFIX = "code = formula: "

Number = int | Fraction | bool
Point = tuple[Number, ...]


@dataclass(frozen=True)
class Raised:
    """The code raised instead of returning a value at a point where the formula is defined."""

    error: Exception

    def __str__(self) -> str:
        return f"raised {type(self.error).__name__}: {self.error}"


def evaluate(code: Callable[..., object], points: Iterable[Point]) -> list[tuple[Point, object]]:
    """The code's value at every point: ``(point, code(*point))``, or :class:`Raised` if it raised.

    An exception is a value here, not a crash of ``mabeam prove``: a code change
    that makes a threshold raise where the lemmas assume a number must fail its
    own "code = formula" result, not every proof of every protocol.
    """
    table: list[tuple[Point, object]] = []
    for point in points:
        try:
            table.append((point, code(*point)))
        except Exception as error:  # any exception is a mismatch, reported with the point
            table.append((point, Raised(error)))
    return table


def accepts(build: Callable[[], object], refusal: type[Exception]) -> bool:
    """Whether ``build()`` succeeds; ``False`` when it raises ``refusal`` (the code's typed refusal).

    Other exceptions propagate (and become :class:`Raised` in :func:`evaluate`):
    a configuration the code rejects for some other reason is not the bound the lemma assumes.
    """
    try:
        build()
    except refusal:
        return False
    return True


def _constant(value: object, kind: int) -> z3.ExprRef | None:
    """``value`` as a Z3 constant of sort ``kind`` (a Fraction or int as a Real, an int as an Int, a truth
    value as a Bool), or ``None`` if it is not of that kind: a code value that is no number is a mismatch."""
    if kind == z3.Z3_BOOL_SORT:
        return z3.BoolVal(value) if isinstance(value, bool) else None
    if isinstance(value, bool) or not isinstance(value, int | Fraction):
        return None
    if kind == z3.Z3_INT_SORT and isinstance(value, int):
        return z3.IntVal(value)
    exact = Fraction(value)
    return z3.RealVal(f"{exact.numerator}/{exact.denominator}")


def _show(point: Point, variables: Sequence[z3.ExprRef]) -> str:
    return ", ".join(f"{v} = {p}" for v, p in zip(variables, point))


def code_equals_formula(id: str, claim: str, variables: Sequence[z3.ExprRef], formula: Callable[..., Any],
                        table: Sequence[tuple[Point, object]], domain: str) -> ProofResult:
    """Prove that the code's value equals ``formula(*variables)`` at every point of ``table``.

    ``claim`` says what was evaluated and what it must equal (``"config.quorum(n) = n//2 + 1"``;
    the result's name is it after :data:`CODE_PREFIX`); ``table`` holds ``(point, code value)``
    rows, coordinates in the order of ``variables``; ``domain`` says which points, for the
    detail. The negation asserted is "at one of the points, the formula takes a value other
    than the code's"; if Z3 finds it satisfiable, the detail names the first such point with
    both values. A code value that is no number (or raised) is refuted without asking Z3.
    """
    if not table:
        raise ValueError(f"{claim}: no points to compare (a check that cannot fail)")
    name = CODE_PREFIX + claim
    detail = f"{len(table)} points: {domain}"
    expression = formula(*variables)
    kind = expression.sort().kind()
    kinds = [v.sort().kind() for v in variables]
    rows: list[tuple[Point, list[tuple[z3.ExprRef, z3.ExprRef]], z3.ExprRef]] = []
    seen: set[tuple[Point, type, object]] = set()
    constants: dict[tuple[object, type, int], z3.ExprRef | None] = {}
    for point, value in table:
        if (point, type(value), value) in seen:  # the same value at the same point: one row is enough
            continue
        seen.add((point, type(value), value))
        literal = _constant(value, kind)
        if literal is None:
            shown = value if isinstance(value, Raised) else f"returned {value!r}"
            return ProofResult(id, name, "refuted", f"at {_show(point, variables)} the code {shown}; {detail}")
        binding = []
        for variable, variable_kind, coordinate in zip(variables, kinds, point, strict=True):
            key = (coordinate, type(coordinate), variable_kind)
            if key not in constants:  # coordinates repeat from row to row: one Z3 constant each
                constants[key] = _constant(coordinate, variable_kind)
            constant = constants[key]
            if constant is None:
                raise TypeError(f"{claim}: coordinate {coordinate!r} does not fit {variable} ({variable.sort()})")
            binding.append((variable, constant))
        rows.append((point, binding, literal))
    if len(rows) < len(table):
        detail = f"{len(table)} evaluations at {len(rows)} distinct points: {domain}"

    def build(solver: z3.Solver) -> None:
        # the formula instantiated at each point (substitution, not a disjunction over free variables:
        # that stays linear even where the formula multiplies two of them, t * W)
        solver.add(z3.Or([z3.substitute(expression, *binding) != literal for _, binding, literal in rows]))

    result = prove_unsat(id, name, build, detail)
    if result.status == "refuted":  # name the first point where they differ, with both values
        for point, binding, literal in rows:
            expected = z3.simplify(z3.substitute(expression, *binding))
            if not z3.is_true(z3.simplify(expected == literal)):
                return dataclasses.replace(result, detail=(
                    f"at {_show(point, variables)} the code gives {literal}, the formula {expected}; {detail}"))
    return result


# ------------------------------------------------------------------ domains
def size_pairs(max_n: int, max_f: Callable[[int], int], min_n: int = 1) -> list[tuple[int, int]]:
    """Every (n, f) with min_n <= n <= max_n and 0 <= f <= max_f(n)."""
    return [(n, f) for n in range(min_n, max_n + 1) for f in range(max_f(n) + 1)]


def weight_vectors(max_members: int, max_weight: int) -> Iterator[tuple[int, ...]]:
    """Every vector of 1..max_members integer weights in 0..max_weight with a positive total."""
    for n in range(1, max_members + 1):
        for weights in itertools.product(range(max_weight + 1), repeat=n):
            if sum(weights) > 0:
                yield weights


def sampled_weight_vectors(count: int, max_members: int, max_weight: int, seed: int) -> list[tuple[int, ...]]:
    """``count`` weight vectors drawn with a fixed seed (the same every run): sizes up to
    ``max_members``, weights up to ``max_weight``, about a quarter of them zero, total positive."""
    rng = random.Random(seed)
    out: list[tuple[int, ...]] = []
    while len(out) < count:
        n = rng.randint(1, max_members)
        weights = tuple(0 if rng.random() < 0.25 else rng.randint(1, max_weight) for _ in range(n))
        if sum(weights) > 0:
            out.append(weights)
    return out
