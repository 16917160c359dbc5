"""Front door to model checking a registered protocol (used by the CLI and tests)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..checker import ActorModel, CheckConfig, CheckResult, Progress, check, random_walks
from ..core.catalog import Factory, ProtocolEntry, SweepPoint
from ..core.errors import ConfigurationError
from .registry import get


def build_model(protocol: str | ProtocolEntry, agents: int | None = None, faulty: int | None = None,
                *, mutant: str | None = None, depth: int | None = None,
                max_states: int | None = None, factory: Factory | None = None, **overrides: Any) -> ActorModel:
    """The model the standard check explores: the entry's defaults, the fault model, any mutant
    (``factory`` replaces the entry's builder, as a sweep point may)."""
    entry = get(protocol) if isinstance(protocol, str) else protocol
    chosen = entry.mutant(mutant) if mutant else None
    agents = agents if agents is not None else (chosen.agents if chosen and chosen.agents else entry.default_agents)
    faulty = faulty if faulty is not None else (chosen.faulty if chosen and chosen.faulty is not None
                                                 else entry.default_faulty)
    if not isinstance(agents, int) or agents < 1:
        raise ConfigurationError(f"--agents must be a positive integer, got {agents!r}")
    if not isinstance(faulty, int) or faulty < 0:
        raise ConfigurationError(f"--faulty must be a non-negative integer, got {faulty!r}")
    factory = factory or (chosen.factory if chosen else entry.factory)
    instance = factory(agents, faulty)
    settings: dict[str, Any] = dict(entry.check_defaults)
    if chosen:
        settings.update(chosen.check_overrides)
    settings.update(overrides)
    if entry.fault_model == "crash":
        settings.setdefault("max_crashes", faulty)
    else:
        settings.setdefault("byzantine", entry.faulty_agents(instance, faulty))
    # a mutant whose broken space never closes may declare a budget; the first violation is still shortest
    settings["max_depth"] = depth if depth is not None else settings.get("max_depth")
    settings["max_states"] = max_states if max_states is not None else settings.get("max_states")
    known = {f.name for f in dataclasses.fields(CheckConfig)}
    unknown = set(settings) - known
    if unknown:
        raise ConfigurationError(f"unknown check settings: {sorted(unknown)}")
    return ActorModel(instance, CheckConfig(**settings))


def check_protocol(protocol: str, agents: int | None = None, faulty: int | None = None, *,
                   mutant: str | None = None, depth: int | None = None, max_states: int | None = None,
                   progress: Progress | None = None, **overrides: Any) -> CheckResult:
    """Model-check a registered protocol (a name, or a ``pkg.module:ENTRY`` reference) the way
    ``mabeam check`` does: its standard instance, or ``agents``/``faulty``/``mutant``, with any
    :class:`~mabeam.checker.CheckConfig` field overridden."""
    entry = get(protocol)
    model = build_model(entry, agents, faulty, mutant=mutant, depth=depth, max_states=max_states,
                        **overrides)
    return check(model, entry.properties, progress=progress)


def walk_protocol(protocol: str, agents: int, faulty: int | None = None, *, seed: int = 0,
                  walks: int = 100, max_steps: int = 500, mutant: str | None = None,
                  **overrides: Any) -> CheckResult:
    entry = get(protocol)
    model = build_model(entry, agents, faulty, mutant=mutant, **overrides)
    return random_walks(model, entry.properties, seed=seed, walks=walks, max_steps=max_steps)


@dataclass
class SweepRow:
    """What one sweep point's check found: exhaustively, or (when that did not finish) bounded and walked."""

    point: SweepPoint
    mode: str  # exhaustive | bounded (a violation found before the budget ran out) | bounded+walks
    result: CheckResult
    walks: CheckResult | None = None

    def verdicts(self) -> dict[str, str]:
        """Each property's status; a walk's violation overrides the bounded search's "incomplete"."""
        verdicts = {r.property.id: r.status for r in self.result.results}
        if self.walks is not None:
            for r in self.walks.results:
                if r.status == "violated" or (r.status == "reached" and verdicts.get(r.property.id) != "reached"):
                    verdicts[r.property.id] = r.status
        return verdicts

    def to_json(self) -> dict[str, Any]:
        s, w = self.result.stats, None if self.walks is None else self.walks.stats
        verdicts = self.verdicts()
        return {"label": self.point.label, "agents": self.point.agents, "faulty": self.point.faulty,
                "mode": self.mode, "states": s.distinct_states, "depth": s.depth,
                "seconds": round(s.seconds + (w.seconds if w else 0.0), 3), "search_seconds": round(s.seconds, 3),
                "complete": s.complete, "bound": s.bound, "peak_rss_bytes": s.peak_rss_bytes,
                "reductions": sorted(k for k in ("symmetry", "por") if self.point.check.get(k)),
                "walk_states": None if w is None else w.distinct_states,
                "walk_depth": None if w is None else w.depth,
                "walk_seconds": None if w is None else round(w.seconds, 3),
                "walks": None if w is None else {"walks": self.point.walks, "steps": self.point.steps},
                "notes": list(self.result.notes), "verdicts": verdicts,
                "violated": sorted(k for k, v in verdicts.items() if v == "violated"),
                "not_checked": sorted(k for k, v in verdicts.items() if v == "not-checked"),
                # reachability goals this point's whole space never reaches: vacuous here, listed, not a
                # failure of the sweep (each goal's non-vacuity is pinned where the standard check reaches it)
                "unreached": sorted(k for k, v in verdicts.items() if v == "unreached")}


def sweep_protocol(protocol: str, *, seed: int = 0, progress: Progress | None = None,
                   only: str | None = None, **overrides: Any) -> list[SweepRow]:
    """Check every point of the protocol's declared sweep (or those whose label contains ``only``):
    exhaustively within its budget, else bounded and then by seeded random walks (the row says which)."""
    entry = get(protocol)
    rows: list[SweepRow] = []
    for point in entry.sweep_points():
        if only is not None and only not in point.label:
            continue
        settings = {"max_states": point.max_states, "max_seconds": point.max_seconds,
                    "max_memory": point.max_memory, **point.check, **overrides}
        model = build_model(entry, point.agents, point.faulty, factory=point.factory, **settings)
        result = check(model, entry.properties, progress=progress)
        if result.stats.complete or result.verdict == "violated":
            rows.append(SweepRow(point, "exhaustive" if result.stats.complete else "bounded", result))
            continue
        unbounded = {k: v for k, v in settings.items() if k not in ("max_states", "max_seconds", "max_memory")}
        walker = build_model(entry, point.agents, point.faulty, factory=point.factory, **unbounded)
        walked = random_walks(walker, entry.properties, seed=seed, walks=point.walks, max_steps=point.steps)
        rows.append(SweepRow(point, "bounded+walks", result, walked))
    return rows
