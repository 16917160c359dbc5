"""Exhaustive breadth-first model checking and seeded random walks.

The search is level-synchronous BFS, so the first violation found is at the
smallest depth: counterexamples are shortest traces. Only 64-bit fingerprints
(Python's hash of the immutable :class:`World`) are kept for visited states;
states themselves live only while in the frontier. Liveness (``eventually``)
needs the transition graph, which is kept only when such properties are asked
for and links are fair; it is then decided by a fair-SCC search (a lasso is the
counterexample).
"""

from __future__ import annotations

import gc
import resource
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from ..core.errors import ReplayError
from ..core.properties import Kind, Property
from ..core.rng import SeededRandom
from .model import Action, ActorModel, World
from .results import CheckResult, PropertyResult, Stats, Trace, TraceStep
from .store import FingerprintStore

Progress = Callable[[dict[str, Any]], None]

# edge list per expanded state: (fair action or None, successor fingerprint)
Graph = dict[int, list[tuple[Action | None, int]]]


def check(model: ActorModel, properties: Sequence[Property], *,
          progress: Progress | None = None) -> CheckResult:
    """Explore every reachable state (up to the configured bounds) and judge each property."""
    inapplicable = [p for p in properties if not p.applies(model.protocol)]
    properties = [p for p in properties if p.applies(model.protocol)]
    safety = [p for p in properties if p.kind is Kind.ALWAYS]
    goals = [p for p in properties if p.kind is Kind.SOMETIMES]
    live = [p for p in properties if p.kind is Kind.EVENTUALLY]
    keep_graph = bool(live) and model.config.fair_links
    config = model.config

    started = time.perf_counter()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # states are acyclic values; the cyclic GC would only rescan them
    try:
        stats = Stats()
        store = FingerprintStore()
        root = model.initial()
        root_fp = hash(root)
        store.add_level(np.array([root_fp], dtype=np.int64), np.array([root_fp], dtype=np.int64))
        frontier: list[World] = [root]
        frontier_fps: list[int] = [root_fp]
        stats.states_generated = 1
        violated: dict[str, tuple[int, int]] = {}
        reached: dict[str, tuple[int, int]] = {}
        live_true: list[set[int]] = [set() for _ in live]
        graph: Graph = {}
        depth = 0
        while frontier:
            for world, fp in zip(frontier, frontier_fps):
                snap = model.snapshot(world)
                for p in safety:
                    if p.id not in violated and not p.holds(snap):
                        violated[p.id] = (fp, depth)
                for p in goals:
                    if p.id not in reached and p.holds(snap):
                        reached[p.id] = (fp, depth)
                for k, p in enumerate(live):
                    if p.holds(snap):
                        live_true[k].add(fp)
            if config.max_depth is not None and depth >= config.max_depth:
                stats.complete, stats.bound = False, f"depth {config.max_depth}"
                break
            if config.max_states is not None and len(store) >= config.max_states:
                stats.complete, stats.bound = False, f"{config.max_states} states"
                break
            next_states: list[World] = []
            next_fps: list[int] = []
            next_parents: list[int] = []
            this_level: set[int] = set()
            generated = 0
            add_seen, add_state, add_fp, add_parent = (
                this_level.add, next_states.append, next_fps.append, next_parents.append)
            transitions = model.transitions
            for world, fp in zip(frontier, frontier_fps):
                edges: list[tuple[Action | None, int]] | None = [] if keep_graph else None
                for action, succ, _effects, fair in transitions(world):
                    generated += 1
                    succ_fp = fp if succ is world else hash(succ)
                    if edges is not None:
                        edges.append((action if fair else None, succ_fp))
                    if succ_fp == fp or succ_fp in this_level:
                        continue
                    add_seen(succ_fp)
                    add_state(succ)
                    add_fp(succ_fp)
                    add_parent(fp)
                if edges is not None:
                    graph[fp] = edges
            stats.states_generated += generated
            candidates = np.array(next_fps, dtype=np.int64)
            fresh = store.unseen(candidates)
            frontier = [w for w, keep in zip(next_states, fresh) if keep]
            fresh_fps = candidates[fresh]
            if fresh_fps.size:
                store.add_level(fresh_fps, np.array(next_parents, dtype=np.int64)[fresh])
                depth += 1
            frontier_fps = fresh_fps.tolist()
            del next_states, this_level
            if progress is not None:
                progress({"depth": depth, "distinct_states": len(store),
                          "states_generated": stats.states_generated,
                          "seconds": time.perf_counter() - started})
        stats.distinct_states = len(store)
        stats.depth = depth
        stats.store_bytes = store.nbytes
        stats.seconds = time.perf_counter() - started

        results: list[PropertyResult] = []
        for p in safety:
            if p.id in violated:
                fp, level = violated[p.id]
                trace = replay_path(model, [(None, f) for f in store.path_to(fp, level)])
                results.append(PropertyResult(p, "violated", trace))
            else:
                note = "" if stats.complete else f"no violation within the bound ({stats.bound})"
                results.append(PropertyResult(p, "holds", note=note))
        for p in goals:
            if p.id in reached:
                fp, level = reached[p.id]
                trace = replay_path(model, [(None, f) for f in store.path_to(fp, level)])
                results.append(PropertyResult(p, "reached", trace, note="witness"))
            else:
                results.append(PropertyResult(p, "unreached",
                                              note="" if stats.complete else f"within {stats.bound}"))
        for k, p in enumerate(live):
            if not model.config.fair_links:
                results.append(PropertyResult(p, "not-checked", note=(
                    "liveness assumes eventual delivery between correct agents; "
                    "a drop budget breaks that fairness")))
            elif not stats.complete:
                results.append(PropertyResult(p, "not-checked", note=f"search bounded by {stats.bound}"))
            else:
                path = _liveness_counterexample(graph, root_fp, live_true[k])
                if path is None:
                    results.append(PropertyResult(p, "holds", note="under weak fairness"))
                else:
                    steps, loop_start = path
                    trace = replay_path(model, steps)
                    trace.loop_start = loop_start
                    results.append(PropertyResult(p, "violated", trace))
        results += _not_applicable(inapplicable)
        stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return CheckResult(results, stats)
    finally:
        if gc_was_enabled:
            gc.enable()


def _not_applicable(properties: Sequence[Property]) -> list[PropertyResult]:
    return [PropertyResult(p, "not-checked", note="not applicable to this configuration") for p in properties]


# ------------------------------------------------------------------ liveness
def _liveness_counterexample(graph: Graph, root: int, goal: set[int]
                             ) -> tuple[list[tuple[Action | None, int]], int | None] | None:
    """A path on which the goal never holds and that is weakly fair, or ``None``.

    Weak fairness: an action (delivery to, or timer of, a correct agent) that
    stays enabled is eventually taken. A run may stutter forever only where no
    fair action is enabled; a cycle is fair iff every fair action enabled in all
    of its strongly connected component is taken inside it.
    """
    if root in goal:
        return None
    parent: dict[int, tuple[Action | None, int] | None] = {root: None}
    order: list[int] = []
    queue = deque([root])
    while queue:
        s = queue.popleft()
        order.append(s)
        for action, t in graph.get(s, ()):
            if t not in goal and t not in parent:
                parent[t] = (action, s)
                queue.append(t)

    def prefix(to: int) -> list[tuple[Action | None, int]]:
        path = []
        cur: int | None = to
        while cur is not None:
            link = parent[cur]
            path.append((None if link is None else link[0], cur))
            cur = None if link is None else link[1]
        path.reverse()
        return path

    for s in order:  # BFS order: shortest stuttering counterexample first
        if not any(a is not None for a, _ in graph.get(s, ())):
            return prefix(s), None

    sub = nx.DiGraph()
    sub.add_nodes_from(order)
    for s in order:
        for action, t in graph[s]:
            if t in parent:
                sub.add_edge(s, t)
    rank = {s: i for i, s in enumerate(order)}
    for component in sorted(nx.strongly_connected_components(sub), key=lambda c: min(rank[s] for s in c)):
        if len(component) == 1:
            (only,) = component
            if not sub.has_edge(only, only):
                continue
        enabled = [{a for a, _ in graph[s] if a is not None} for s in component]
        required = set.intersection(*enabled)
        taken = {a for s in component for a, t in graph[s] if a is not None and t in component}
        if not required <= taken:
            continue
        entry = min(component, key=rank.__getitem__)
        cycle = _fair_cycle(graph, component, entry, required)
        head = prefix(entry)
        return head + cycle, len(head) - 1
    return None


def _fair_cycle(graph: Graph, component: set[int], start: int, required: set[Action]
                ) -> list[tuple[Action | None, int]]:
    """A cycle from ``start`` inside ``component`` that takes every required action."""
    def route(src: int, dst: int) -> list[tuple[Action | None, int]]:
        if src == dst:
            return []
        back: dict[int, tuple[Action | None, int]] = {}
        queue = deque([src])
        seen = {src}
        while queue:
            s = queue.popleft()
            for action, t in graph[s]:
                if t in component and t not in seen:
                    seen.add(t)
                    back[t] = (action, s)
                    if t == dst:
                        path = []
                        cur = t
                        while cur != src:
                            a, prev = back[cur]
                            path.append((a, cur))
                            cur = prev
                        path.reverse()
                        return path
                    queue.append(t)
        raise AssertionError("component is not strongly connected")

    cycle: list[tuple[Action | None, int]] = []
    here = start
    for action in sorted(required, key=lambda a: a.key()):
        src, dst = next((s, t) for s in sorted(component) for a, t in graph[s]
                        if a == action and t in component)
        cycle += route(here, src)
        cycle.append((action, dst))
        here = dst
    cycle += route(here, start)
    if not cycle:  # no required action: any edge that stays in the component
        action, dst = next((a, t) for a, t in graph[start] if t in component)
        cycle = [(action, dst)] + route(dst, start)
    return cycle


# ---------------------------------------------------------------- trace replay
def replay_path(model: ActorModel, path: Sequence[tuple[Action | None, int]]) -> Trace:
    """Re-execute a path given as (action or None, fingerprint) pairs into a readable trace."""
    world = model.initial()
    if hash(world) != path[0][1]:
        raise ReplayError("initial state does not match the recorded path")
    steps = [TraceStep(None, _initial_effects(model), world)]
    for action, fp in path[1:]:
        for t in model.transitions(world):
            if (action is None or t.action == action) and hash(t.world) == fp:
                steps.append(TraceStep(t.action, t.effects, t.world))
                world = t.world
                break
        else:
            raise ReplayError("a recorded step is no longer enabled")
    return Trace(steps)


def replay_actions(model: ActorModel, keys: Iterable[list[str] | None]) -> Trace:
    """Re-execute a trace recorded as JSON action keys (deterministic across processes)."""
    world = model.initial()
    steps = [TraceStep(None, _initial_effects(model), world)]
    for key in keys:
        if key is None:
            continue
        for t in model.transitions(world):
            if t.action.key() == list(key):
                steps.append(TraceStep(t.action, t.effects, t.world))
                world = t.world
                break
        else:
            raise ReplayError(f"step {len(steps)}: action {key[:2]} is not enabled")
    return Trace(steps)


def _initial_effects(model: ActorModel) -> tuple:
    return tuple(e for a in model.agents if a not in model.byzantine
                 for e in model.protocol.start(a).effects)


# ---------------------------------------------------------------- random walks
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
        steps = [TraceStep(None, _initial_effects(model), world)]
        for step_no in range(max_steps + 1):
            seen.add(hash(world))
            snap = model.snapshot(world)
            for p in safety:
                if p.id not in violated and not p.holds(snap):
                    violated[p.id] = Trace(list(steps))
            for p in goals:
                if p.id not in reached and p.holds(snap):
                    reached[p.id] = Trace(list(steps))
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
                       else PropertyResult(p, "holds", note="no violation on the sampled walks"))
    for p in goals:
        results.append(PropertyResult(p, "reached", reached[p.id]) if p.id in reached
                       else PropertyResult(p, "unreached", note="not on the sampled walks"))
    for p in properties:
        if p.kind is Kind.EVENTUALLY:
            results.append(PropertyResult(p, "not-checked", note="random walks do not judge liveness"))
    return CheckResult(results + _not_applicable(inapplicable), stats, mode="random-walk")
