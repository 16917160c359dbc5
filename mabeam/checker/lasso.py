"""Fair cycles near one state: how a swarm search shows a liveness failure that never stops moving.

A weakly fair run can fail ``eventually P`` without ever stopping: it goes
round a cycle for ever (redelivering, rejecting, re-arming timers) while P stays
false. A random walk cannot tell such a cycle from slow progress, so when a
fair walk starts revisiting states with P false where it stands, the region
around it is explored breadth-first up to a bound, keeping the transition
graph, and the exhaustive checker's own decision procedure
(:func:`~mabeam.checker.liveness.liveness_counterexample`) runs on it.

States the bound left unexpanded count as states where P holds: their futures
are unknown. So a stop or a fair cycle is reported only among states whose
every successor was seen, and a finding is a real weakly fair run, never an
artefact of the bound. :func:`lasso_fails` re-checks a finding from scratch on
its replayed trace, which is what the swarm's merge and minimisation trust.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import numpy as np

from ..core.properties import Property
from ..core.protocol import UNFAIR
from .liveness import liveness_counterexample
from .model import Action, ActorModel, World
from .results import Trace
from .search import Graph, _class_of


@dataclass
class Region:
    """The states breadth-first from one root, up to a bound, and every edge out of the expanded ones."""

    root: int
    graph: Graph = field(default_factory=Graph)
    expanded: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)
    holds: dict[str, set[int]] = field(default_factory=dict)  # property id -> seen states where it holds


def explore_region(model: ActorModel, start: World, start_fp: int, live: list[Property], max_states: int,
                   judge: Callable[[World, int, int, int, Action], None] | None = None,
                   out_of_budget: Callable[[], bool] = lambda: False) -> Region:
    """Expand up to ``max_states`` states breadth-first from ``start``, self-loops included (they
    are how a fairness class stays taken); ``judge(world, fp, depth, parent fp, action)`` sees each
    new state."""
    region = Region(start_fp, seen={start_fp}, holds={p.id: set() for p in live})
    graph = region.graph

    def note(world: World, fp: int) -> None:
        snap = model.snapshot(world)
        for p in live:
            if p.holds(snap):
                region.holds[p.id].add(fp)

    note(start, start_fp)
    queue: deque[tuple[World, int, int]] = deque([(start, start_fp, 0)])
    while queue and len(region.expanded) < max_states and not out_of_budget():
        world, fp, depth = queue.popleft()
        region.expanded.add(fp)
        for succ, succ_fp, action, fair in model.successors(world, fp, loops=True):
            graph.src.append(fp)
            graph.dst.append(succ_fp)
            graph.cls.append(_class_of(model, graph, action) if fair else -1)
            if succ_fp in region.seen:
                continue
            region.seen.add(succ_fp)
            note(succ, succ_fp)
            if judge is not None:
                judge(succ, succ_fp, depth + 1, fp, action)
            queue.append((succ, succ_fp, depth + 1))
    return region


def region_lasso(model: ActorModel, p: Property, region: Region, start: World
                 ) -> tuple[list[Action], int | None] | None:
    """A weakly fair run from the region's root on which ``p`` never holds: its actions and the
    number of them after which its cycle starts (``None``: it stops in its last state), or ``None``."""
    states = np.array(sorted(region.seen), dtype=np.uint64)
    unknown = region.seen - region.expanded
    goal = np.array(sorted(region.holds[p.id] | unknown), dtype=np.uint64)
    found = liveness_counterexample(states, region.graph, region.root, goal)
    if found is None:
        return None
    path, loop = found
    actions: list[Action] = []
    world = start
    for _action, fp in path[1:]:  # the graph keeps fingerprints: take the successor that has it
        succ, action = next((s, a) for s, s_fp, a, _f in model.successors(world, loops=True) if s_fp == fp)
        actions.append(action)
        world = succ
    return actions, loop


def leaves_fairly(model: ActorModel, action: Action, fair: bool) -> bool:
    """Whether an action is one weak fairness obliges (fair, and of a class the protocol obliges)."""
    return fair and model.fairness_class(action) != UNFAIR


def fair_classes(model: ActorModel, world: World) -> set[Hashable]:
    """The weak-fairness classes enabled in ``world`` (self-loops included)."""
    return {model.fairness_class(action) for _s, _fp, action, fair in model.successors(world, loops=True)
            if leaves_fairly(model, action, fair)}


def lasso_fails(model: ActorModel, p: Property, trace: Trace, loop_start: int | None) -> bool:
    """Whether ``trace`` (a stop when ``loop_start`` is None, else a lasso back to that step) is a
    weakly fair run on which the liveness property ``p`` never holds."""
    worlds = [step.world for step in trace.steps]
    if any(p.holds(model.snapshot(w)) for w in worlds):
        return False
    if loop_start is None:  # it stays: no fair action may lead anywhere else
        last = worlds[-1]
        here = model.fingerprint(last)
        return not any(s_fp != here and leaves_fairly(model, action, fair)
                       for _s, s_fp, action, fair in model.successors(last))
    if not 0 <= loop_start < len(worlds) - 1 or \
            model.fingerprint(worlds[-1]) != model.fingerprint(worlds[loop_start]):
        return False
    cycle = worlds[loop_start:-1]
    required = set.intersection(*(fair_classes(model, w) for w in cycle))
    taken = {model.fairness_class(step.action) for step in trace.steps[loop_start + 1:] if step.action is not None}
    return required <= taken
