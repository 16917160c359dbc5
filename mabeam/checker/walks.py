"""Seeded random walks, for configurations too large to exhaust."""

from __future__ import annotations

import resource
import time
from collections.abc import Sequence

from ..core.properties import Kind, Property
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
            for p in safety:
                if p.id not in violated and not p.holds(snap):
                    violated[p.id] = Trace(list(steps), model=model)
            for p in goals:
                if p.id not in reached and p.holds(snap):
                    reached[p.id] = Trace(list(steps), model=model)
            if step_no == max_steps:
                break
            options = list(model.transitions(world))
            stats.states_generated += len(options)
            if not options:
                break
            t = options[rng.randrange(len(options))]
            world = t.world
            steps.append(TraceStep(t.action, t.effects, world))
            stats.depth = max(stats.depth, len(steps) - 1)
    stats.distinct_states = len(seen)
    stats.seconds = time.perf_counter() - started
    stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results = []
    for p in safety:
        results.append(PropertyResult(p, "violated", violated[p.id]) if p.id in violated
                       else PropertyResult(p, "incomplete", note="no violation on the sampled walks"))
    for p in goals:
        results.append(PropertyResult(p, "reached", reached[p.id]) if p.id in reached
                       else PropertyResult(p, "incomplete", note="not reached on the sampled walks"))
    for p in properties:
        if p.kind is Kind.EVENTUALLY:
            results.append(PropertyResult(p, "not-checked", note="random walks do not judge liveness"))
    return CheckResult(results + not_applicable(inapplicable), stats, mode="random-walk")
