"""Results of Z3 proofs, shared by every ``models/`` module and ``mabeam prove``."""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import z3

from ..core.errors import UnknownProtocolError
from .registry import get


@dataclass(frozen=True)
class ProofResult:
    """One Z3 check: ``proved`` (negation unsat), ``refuted`` (with a model) or ``unknown``."""

    id: str  # the property ID it supports, e.g. "WV-S1"
    name: str
    status: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "proved"

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "status": self.status, "detail": self.detail,
                "seconds": round(self.seconds, 3)}


def prove_unsat(id: str, name: str, build: Callable[[z3.Solver], None], detail: str = "",
                timeout_ms: int = 60_000) -> ProofResult:
    """Assert the *negation* of a claim into a fresh solver; unsat means the claim is proved."""
    started = time.perf_counter()
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    build(solver)
    verdict = solver.check()
    seconds = time.perf_counter() - started
    if verdict == z3.unsat:
        return ProofResult(id, name, "proved", detail, seconds)
    if verdict == z3.sat:
        return ProofResult(id, name, "refuted", f"counterexample: {solver.model()}", seconds)
    return ProofResult(id, name, "unknown", solver.reason_unknown(), seconds)


def expect_refuted(result: ProofResult, name: str | None = None) -> ProofResult:
    """A check that the proofs bite: a deliberately wrong claim must be refuted.

    The refutation is reported as ``proved`` (the model tells right from wrong),
    anything else as ``refuted``, optionally under a new ``name``.
    """
    name = result.name if name is None else name
    if result.status == "refuted":
        return dataclasses.replace(result, name=name, status="proved")
    return dataclasses.replace(result, name=name, status="refuted",
                               detail=f"expected a counterexample, got {result.status}")


def run_proofs(protocol: str) -> list[ProofResult]:
    entry = get(protocol)
    if not entry.proofs:
        raise UnknownProtocolError(f"{protocol} has no Z3 model")
    return list(importlib.import_module(entry.proofs).run())
