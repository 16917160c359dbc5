"""Exhaustive breadth-first exploration of a model's reachable states.

The search is level-synchronous BFS, so the first violation found is at the
smallest depth: counterexamples are shortest traces. Only 64-bit fingerprints
of visited states are kept (:class:`~mabeam.checker.store.FingerprintStore`);
states themselves live only while in the frontier. Each state is judged by the
safety, reachability and liveness predicates as it is dequeued; the transition
graph is kept only when liveness must be decided (see :mod:`.liveness`). What
the exploration found is turned into verdicts by :mod:`.verdicts`.
"""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
from ..core.observer import ObservedStep, Observer, RunInfo
from ..core.properties import Kind, Property
from .liveness import Graph
from .model import Action, ActorModel, World
from .results import CheckResult, Stats
from .store import FingerprintStore
from .verdicts import judge, not_applicable

Progress = Callable[[dict[str, Any]], None]


@dataclass
class Exploration:
    """What one search saw: the visited set, where properties first failed or held, the graph."""

    store: FingerprintStore
    root: int
    stats: Stats
    violated: dict[str, tuple[int, int]] = field(default_factory=dict)  # safety id -> (fingerprint, depth)
    reached: dict[str, tuple[int, int]] = field(default_factory=dict)  # goal id -> (fingerprint, depth)
    live_true: dict[str, set[int]] = field(default_factory=dict)  # liveness id -> states where it holds
    graph: Graph = field(default_factory=dict)


def check(model: ActorModel, properties: Sequence[Property], *, progress: Progress | None = None,
          observers: Sequence[Observer] = ()) -> CheckResult:
    """Explore every reachable state (up to the configured bounds) and judge each property."""
    applicable = [p for p in properties if p.applies(model.protocol)]
    inapplicable = [p for p in properties if not p.applies(model.protocol)]
    info = RunInfo("checker", model.protocol, None, model.byzantine)
    for observer in observers:
        observer.on_run_start(info)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # states are acyclic values; the cyclic GC would only rescan them
    try:
        found = explore(model, applicable, progress=progress, observers=observers)
        results = judge(model, applicable, found) + not_applicable(inapplicable)
    finally:
        if gc_was_enabled:
            gc.enable()
    found.stats.peak_rss_bytes = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = CheckResult(results, found.stats)
    for observer in observers:
        observer.on_run_end(result)
    return result


def explore(model: ActorModel, properties: Sequence[Property], *, progress: Progress | None = None,
            observers: Sequence[Observer] = ()) -> Exploration:
    """Breadth-first search of ``model``, judging ``properties`` on every state it dequeues.

    ``observers`` are told of every transition explored (``at`` is the depth of its source state).
    """
    safety = [p for p in properties if p.kind is Kind.ALWAYS]
    goals = [p for p in properties if p.kind is Kind.SOMETIMES]
    live = [p for p in properties if p.kind is Kind.EVENTUALLY]
    keep_graph = bool(live) and model.config.fair_links
    config = model.config
    started = time.perf_counter()
    stats = Stats()
    store = FingerprintStore()
    root = model.initial()
    root_fp = hash(root)
    store.add_level(np.array([root_fp], dtype=np.int64), np.array([root_fp], dtype=np.int64))
    found = Exploration(store, root_fp, stats, live_true={p.id: set() for p in live})
    frontier: list[World] = [root]
    frontier_fps: list[int] = [root_fp]
    stats.states_generated = 1
    depth = 0
    while frontier:
        _judge_level(model, frontier, frontier_fps, depth, safety, goals, live, found)
        if config.max_depth is not None and depth >= config.max_depth:
            stats.complete, stats.bound = False, f"depth {config.max_depth}"
            break
        if config.max_states is not None and len(store) >= config.max_states:
            stats.complete, stats.bound = False, f"{config.max_states} states"
            break
        next_states, next_fps, next_parents = _expand(model, frontier, frontier_fps, found.graph if keep_graph
                                                      else None, stats)
        if observers:
            _tell(model, frontier, depth, observers)
        candidates = np.array(next_fps, dtype=np.int64)
        fresh = store.unseen(candidates)
        frontier = [w for w, keep in zip(next_states, fresh) if keep]
        fresh_fps = candidates[fresh]
        if fresh_fps.size:
            store.add_level(fresh_fps, np.array(next_parents, dtype=np.int64)[fresh])
            depth += 1
        frontier_fps = fresh_fps.tolist()
        del next_states
        if progress is not None:
            progress({"depth": depth, "distinct_states": len(store), "states_generated": stats.states_generated,
                      "seconds": time.perf_counter() - started})
    stats.distinct_states = len(store)
    stats.depth = depth
    stats.store_bytes = store.nbytes
    stats.seconds = time.perf_counter() - started
    return found


def _judge_level(model: ActorModel, frontier: list[World], fps: list[int], depth: int,
                 safety: list[Property], goals: list[Property], live: list[Property], found: Exploration) -> None:
    """Evaluate the predicates on one level's states (the first failure per property is shortest)."""
    violated, reached, live_true = found.violated, found.reached, found.live_true
    for world, fp in zip(frontier, fps):
        snap = model.snapshot(world)
        for p in safety:
            if p.id not in violated and not p.holds(snap):
                violated[p.id] = (fp, depth)
        for p in goals:
            if p.id not in reached and p.holds(snap):
                reached[p.id] = (fp, depth)
        for p in live:
            if p.holds(snap):
                live_true[p.id].add(fp)


def _expand(model: ActorModel, frontier: list[World], fps: list[int], graph: Graph | None, stats: Stats
            ) -> tuple[list[World], list[int], list[int]]:
    """Every successor of one level, deduplicated within the level: (states, fingerprints, parents)."""
    next_states: list[World] = []
    next_fps: list[int] = []
    next_parents: list[int] = []
    this_level: set[int] = set()
    generated = 0
    add_seen, add_state, add_fp, add_parent = this_level.add, next_states.append, next_fps.append, next_parents.append
    transitions = model.transitions
    for world, fp in zip(frontier, fps):
        edges: list[tuple[Action | None, int]] | None = [] if graph is not None else None
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
        if graph is not None and edges is not None:
            graph[fp] = edges
    stats.states_generated += generated
    return next_states, next_fps, next_parents


def _tell(model: ActorModel, frontier: list[World], depth: int, observers: Sequence[Observer]) -> None:
    """Replay one level's transitions to observers (only when some are attached: it costs a second pass)."""
    protocol = model.protocol
    for world in frontier:
        for action, succ, effects, _fair in model.transitions(world):
            if action.kind == "crash":
                for observer in observers:
                    observer.on_fault(action.agent, "crash", depth)
                continue
            if action.kind not in ("deliver", "timer"):
                for observer in observers:
                    observer.on_fault(action.agent, action.kind, depth)  # drop / duplicate by the network
                continue
            i = model.index[action.agent]
            detail = action.detail.message if action.kind == "deliver" else action.detail
            step = ObservedStep(protocol, action.agent, action.kind, detail, world.nodes[i], succ.nodes[i],
                                effects, depth)
            sink = _Notifier(action.agent, depth, observers)
            for observer in observers:
                observer.on_step(step)
            interpret(effects, sink)


class _Notifier:
    """Tells observers of one explored step's decisions, evidence, rejections and timers."""

    __slots__ = ("agent", "at", "observers")

    def __init__(self, agent: AgentId, at: float, observers: Sequence[Observer]) -> None:
        self.agent, self.at, self.observers = agent, at, observers

    def send(self, to: AgentId, message: Message) -> None:
        """Sends are visible in the successor's network."""

    def broadcast(self, message: Message, include_self: bool) -> None:
        """As for sends."""

    def set_timer(self, name: str, delay: float) -> None:
        for observer in self.observers:
            observer.on_timer(self.agent, name, "set", self.at)

    def cancel_timer(self, name: str) -> None:
        for observer in self.observers:
            observer.on_timer(self.agent, name, "cancel", self.at)

    def decide(self, value: Any, instance: Any) -> None:
        for observer in self.observers:
            observer.on_decision(self.agent, value, instance, self.at, int(self.at))

    def evidence(self, evidence: Evidence) -> None:
        for observer in self.observers:
            observer.on_evidence(self.agent, evidence, self.at)

    def reject(self, reason: str, message: Message | None) -> None:
        sender = None if message is None else message.sender
        for observer in self.observers:
            observer.on_rejection(reason, sender, message, self.at)

    def defer(self, message: Message) -> None:
        """A deferred message stays in flight."""
