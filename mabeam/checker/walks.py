"""Seeded random walks, for configurations too large to exhaust."""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence
from typing import Any

from ..core.properties import Kind, Property, Snapshot
from ..core.rng import SeededRandom
from .model import ActorModel
from .replay import initial_effects
from .results import CheckResult, PropertyResult, Stats, Trace, TraceStep
from .verdicts import not_applicable


def random_walks(model: ActorModel, properties: Sequence[Property], *, seed: int = 0,
                 walks: int = 100, max_steps: int = 200) -> CheckResult:
    """Seeded random simulation for configurations too large to exhaust.

    Safety properties are checked on every visited state; ``sometimes`` goals
    report whether any walk reached them. Liveness is not judged (a finite walk
    proves nothing about it).
    """
    rng = SeededRandom(seed)
    inapplicable = [p for p in properties if not p.applies(model.protocol)]
    properties = [p for p in properties if p.applies(model.protocol)]
    safety = [p for p in properties if p.kind is Kind.ALWAYS]
    goals = [p for p in properties if p.kind is Kind.SOMETIMES]
    step_properties = [p for p in properties if p.kind is Kind.STEP]
    started = time.perf_counter()
    seen: set[int] = set()
    stats = Stats(complete=False, bound=f"{walks} walks x {max_steps} steps, seed {seed}")
    violated: dict[str, Trace] = {}
    reached: dict[str, Trace] = {}
    for _ in range(walks):
        world = model.initial()
        steps = [TraceStep(None, initial_effects(model), world)]
        for step_no in range(max_steps + 1):
            seen.add(model.fingerprint(world))
            snap = model.snapshot(world)
            _judge(model, snap, steps, safety, goals, violated, reached)
            if step_no == max_steps:
                break
            options = list(model.transitions(world))
            stats.states_generated += len(options)
            if not options:
                break
            t = options[rng.randrange(len(options))]
            steps.append(TraceStep(t.action, t.effects, t.world))
            if step_properties:
                _judge_step(model, snap, t.action, model.snapshot(t.world), steps, step_properties, violated)
            world = t.world
            stats.depth = max(stats.depth, len(steps) - 1)
    stats.distinct_states = len(seen)
    stats.seconds = time.perf_counter() - started
    stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results = []
    for p in (*safety, *step_properties):
        results.append(PropertyResult(p, "violated", violated[p.id]) if p.id in violated
                       else PropertyResult(p, "incomplete", note="no violation on the sampled walks"))
    for p in goals:
        results.append(PropertyResult(p, "reached", reached[p.id]) if p.id in reached
                       else PropertyResult(p, "incomplete", note="not reached on the sampled walks"))
    for p in properties:
        if p.kind is Kind.EVENTUALLY:
            results.append(PropertyResult(p, "not-checked", note="random walks do not judge liveness"))
    return CheckResult(results + not_applicable(inapplicable), stats, mode="random-walk")


def _judge(model: ActorModel, snap: Snapshot, steps: list[TraceStep], safety: list[Property], goals: list[Property],
           violated: dict[str, Trace], reached: dict[str, Trace]) -> None:
    """The first violation of each safety property and the first witness of each goal on the walks."""
    for p in safety:
        if p.id not in violated and not p.holds(snap):
            violated[p.id] = Trace(list(steps), model=model)
    for p in goals:
        if p.id not in reached and p.holds(snap):
            reached[p.id] = Trace(list(steps), model=model)


def _judge_step(model: ActorModel, before: Snapshot, action: Any, after: Snapshot, steps: list[TraceStep],
                step_properties: list[Property], violated: dict[str, Trace]) -> None:
    for p in step_properties:
        if p.id not in violated and not p.holds_on_step(before, action, after):
            violated[p.id] = Trace(list(steps), model=model)
