"""What a check reports: per-property verdicts, counterexample traces, statistics."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import Any

from ..core.effects import Effect
from ..core.interpret import describe_effects
from ..core.properties import Property
from .model import Action, World


@dataclass(frozen=True)
class TraceStep:
    action: Action | None  # None for the initial state
    effects: tuple[Effect, ...]
    world: World


@dataclass
class Trace:
    """A path from the initial state; ``loop_start`` marks the cycle of a lasso.

    A world is a tuple of component fingerprints that only the model which
    produced it can resolve: ``model`` is that model (read states with
    :meth:`snapshot` or ``trace.model.view(step.world)``).
    """

    steps: list[TraceStep]
    loop_start: int | None = None
    model: Any = field(default=None, compare=False, repr=False)

    def snapshot(self, index: int = -1) -> Any:
        """The global snapshot after step ``index`` (default: the last)."""
        return self.model.snapshot(self.steps[index].world)

    def __len__(self) -> int:
        return len(self.steps) - 1  # number of actions

    def render(self, agents: tuple[str, ...]) -> str:
        lines = []
        for i, step in enumerate(self.steps):
            if step.action is None:
                lines.append("   0. initial state" + _effects_suffix(step.effects))
                continue
            marker = "  ⟲" if self.loop_start is not None and i == self.loop_start + 1 else "   "
            lines.append(f"{marker}{i:>2}. {step.action.describe()}{_effects_suffix(step.effects)}")
        if self.loop_start is not None:
            lines.append(f"   … and back to step {self.loop_start} forever (a fair cycle)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "steps": [
                {"action": None if s.action is None else s.action.key(),
                 "text": "initial state" if s.action is None else s.action.describe(),
                 "effects": describe_effects(s.effects)}
                for s in self.steps
            ],
            "loop_start": self.loop_start,
        }


def _effects_suffix(effects: tuple[Effect, ...]) -> str:
    shown = describe_effects(effects, timers=False)
    return ("  → " + "; ".join(shown)) if shown else ""


@dataclass
class PropertyResult:
    property: Property
    status: str  # holds | violated | reached | unreached | incomplete | not-checked
    trace: Trace | None = None
    note: str = ""

    @builtins.property
    def ok(self) -> bool:
        return self.status in ("holds", "reached")

    @builtins.property
    def checked(self) -> bool:
        """Judged one way or the other (an incomplete search judged nothing)."""
        return self.status not in ("not-checked", "incomplete")


@dataclass
class Stats:
    states_generated: int = 0
    distinct_states: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_rss_bytes: int = 0
    store_bytes: int = 0
    complete: bool = True  # the whole reachable space was explored
    bound: str = ""
    memo_entries: int = 0  # entries in the checker's step caches when the search ended
    memo_trims: int = 0  # times the search emptied those caches for being over their bound (see search.py)
    worker_cpu: list[dict[str, float]] = field(default_factory=list)  # partitioned search: CPU s per phase

    @property
    def states_per_second(self) -> float:
        return self.distinct_states / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_per_state(self) -> float:
        """Bytes of the visited-state store (and liveness graph) per distinct state: a detail."""
        return self.store_bytes / self.distinct_states if self.distinct_states else 0.0

    @property
    def rss_per_state(self) -> float:
        """Peak resident memory of the process per distinct state: the headline memory figure."""
        return self.peak_rss_bytes / self.distinct_states if self.distinct_states else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "states_generated": self.states_generated,
            "distinct_states": self.distinct_states,
            "depth": self.depth,
            "seconds": round(self.seconds, 4),
            "states_per_second": round(self.states_per_second, 1),
            "bytes_per_state": round(self.bytes_per_state, 2),
            "peak_rss_bytes": self.peak_rss_bytes,
            "rss_bytes_per_state": round(self.rss_per_state, 1),
            "memo_entries": self.memo_entries,
            "memo_trims": self.memo_trims,
            "complete": self.complete,
            "bound": self.bound,
        }


@dataclass
class CheckResult:
    results: list[PropertyResult]
    stats: Stats
    mode: str = "exhaustive"
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No property failed (an incomplete search may still be ok: see :attr:`complete`)."""
        return all(r.ok or not r.checked for r in self.results)

    @property
    def complete(self) -> bool:
        return self.stats.complete

    @property
    def verdict(self) -> str:
        """``violated`` (some property failed), ``incomplete`` (a bound stopped the search before
        any failure was found) or ``holds`` (the whole space was explored, nothing failed)."""
        if self.failures():
            return "violated"
        if not self.stats.complete or any(r.status == "incomplete" for r in self.results):
            return "incomplete"
        return "holds"

    def failures(self) -> list[PropertyResult]:
        return [r for r in self.results if r.checked and not r.ok]

    def result_for(self, property_id: str) -> PropertyResult:
        return next(r for r in self.results if r.property.id == property_id)
