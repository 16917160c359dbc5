"""Exhaustive breadth-first exploration of a model's reachable states.

The search is level-synchronous BFS, so the first violation found is at the
smallest depth: counterexamples are shortest traces. Only 64-bit fingerprints
of visited states are kept (:class:`~mabeam.checker.store.FingerprintStore`,
24 bytes a state with the parent links that rebuild traces); a level's worlds
live only while it is expanded (:class:`~mabeam.checker.frontier.Frontier`,
spilled to disk when large). Each state is judged by the safety, reachability
and liveness predicates as its level is dequeued, and each transition by the
step properties. The transition graph is kept, as compact arrays, only when
liveness must be decided (:mod:`.liveness`). What the exploration found is
turned into verdicts by :mod:`.verdicts`.

The model's step caches are bounded (``ActorModel.memo_entries``, and at most
a share of the memory budget): past the bound they are emptied between two
levels, or within a level that alone outgrows twice the bound, and recomputed.

A search stops early, and says so, when a bound is reached: depth, states,
the memory budget (:class:`~mabeam.checker.memory.MemoryWatch`), an interrupt
(Ctrl-C), or, when asked, the first level with a safety violation.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
from ..core.observer import ObservedStep, Observer, RunInfo
from ..core.properties import Kind, Property, Snapshot
from ..core.protocol import UNFAIR
from .frontier import Frontier
from .judge import Judge
from .memory import MemoryWatch, OutOfTime, peak_rss
from .model import Action, ActorModel, World
from .reduction import Reduction
from .results import CheckResult, Stats
from .store import FingerprintStore
from .verdicts import judge, not_applicable

Progress = Callable[[dict[str, Any]], None]
#: candidate successors checked against the visited store in batches of this many
PREFILTER = 1 << 16
#: bytes of the memory budget per step-cache entry: the caches' bound is at most budget / this
#: (an entry is roughly 200 bytes, and a level may hold twice the bound: a fifth of the budget)
MEMO_ENTRY_SHARE = 2000


class OutOfMemory(Exception):
    """The memory budget was reached (the search stops with a partial report)."""


@dataclass
class Graph:
    """The explored transition graph, compactly: one row per edge (source, target, fairness class)."""

    src: array = field(default_factory=lambda: array("Q"))
    dst: array = field(default_factory=lambda: array("Q"))
    cls: array = field(default_factory=lambda: array("i"))  # -1: not part of the fairness
    classes: dict[Hashable, int] = field(default_factory=dict)
    actions: dict[int, Action] = field(default_factory=dict)  # a representative action of each class
    by_action: dict[int, int] = field(default_factory=dict)  # id(action) -> class

    @property
    def nbytes(self) -> int:
        return (self.src.itemsize + self.dst.itemsize + self.cls.itemsize) * len(self.src)


@dataclass
class Exploration:
    """What one search saw: the visited set, where properties first failed or held, the graph."""

    store: FingerprintStore
    root: int
    stats: Stats
    violated: dict[str, tuple[int, int]] = field(default_factory=dict)  # safety id -> (fingerprint, depth)
    reached: dict[str, tuple[int, int]] = field(default_factory=dict)  # goal id -> (fingerprint, depth)
    live_true: dict[str, list[int]] = field(default_factory=dict)  # liveness id -> states where it holds
    #: step property id -> (source fingerprint, source depth, action, target fingerprint)
    violated_steps: dict[str, tuple[int, int, Action, int]] = field(default_factory=dict)
    graph: Graph | None = None
    memory_budget: int = 0  # bytes of resident memory the search (and the liveness judgement) may use


def check(model: ActorModel, properties: Sequence[Property], *, progress: Progress | None = None,
          observers: Sequence[Observer] = ()) -> CheckResult:
    """Explore every reachable state (up to the configured bounds) in this process and judge each property."""
    applicable = [p for p in properties if p.applies(model.protocol)]
    inapplicable = [p for p in properties if not p.applies(model.protocol)]
    info = RunInfo("checker", model.protocol, None, model.byzantine)
    for observer in observers:
        observer.on_run_start(info)
    reduction = Reduction(model, applicable)
    gc_was_enabled = gc.isenabled()
    gc.disable()  # states are acyclic values; the cyclic GC would only rescan them
    try:
        found = explore(model, applicable, progress=progress, observers=observers, reduction=reduction)
        results = judge(model, applicable, found, reduction) + not_applicable(inapplicable)
    finally:
        if gc_was_enabled:
            gc.enable()
    found.stats.peak_rss_bytes = peak_rss()
    result = CheckResult(results, found.stats, notes=reduction.notes())
    for observer in observers:
        observer.on_run_end(result)
    return result


def explore(model: ActorModel, properties: Sequence[Property], *, progress: Progress | None = None,
            observers: Sequence[Observer] = (), reduction: Reduction | None = None) -> Exploration:
    """Breadth-first search of ``model``, judging ``properties`` on every state and step it meets.

    ``observers`` are told of every transition explored (``at`` is the depth of its source state).
    """
    config = model.config
    reduction = reduction or Reduction(model, properties)
    live = [p for p in properties if p.kind is Kind.EVENTUALLY]
    steps = [p for p in properties if p.kind is Kind.STEP]
    keep_graph = bool(live) and config.fair_links and reduction.judges_liveness
    watch = MemoryWatch(config.max_memory, deadline=None if config.max_seconds is None
                        else time.monotonic() + config.max_seconds)
    started = time.perf_counter()
    stats = Stats()
    store = FingerprintStore()
    root = reduction.canonical(model.initial())
    root_fp = model.fingerprint(root)
    store.add_level(np.array([root_fp], dtype=np.uint64), np.array([root_fp], dtype=np.uint64))
    found = Exploration(store, root_fp, stats, live_true={p.id: [] for p in live},
                        graph=Graph() if keep_graph else None, memory_budget=watch.budget)
    judges = Judge(model, properties)
    memo_bound = min(model.memo_entries, watch.budget // MEMO_ENTRY_SHARE)
    frontier = Frontier(len(root), _spill_bytes(watch.budget))
    frontier.append(root, root_fp)
    stats.states_generated = 1
    depth = 0
    try:
        while len(frontier):
            expand = not _bounded(config, stats, store, depth)
            level = _Level(model, depth, found, judges, bool(steps), reduction, watch, observers, memo_bound)
            nxt = level.run(frontier, expand)
            frontier.close()
            frontier = nxt
            _bound_memo(model, stats, memo_bound)  # between levels: the next level's networks are mostly new
            if level.stopped:
                stats.complete, stats.bound = False, "stopped at the first violation"
                break
            if not expand:
                break
            if len(frontier):
                depth += 1
            if progress is not None:
                progress({"depth": depth, "distinct_states": len(store), "states_generated": stats.states_generated,
                          "seconds": time.perf_counter() - started, "rss_bytes": watch.high_water,
                          "frontier": len(frontier), "spilled": frontier.spilled})
    except KeyboardInterrupt:
        stats.complete, stats.bound = False, "interrupted (Ctrl-C)"
    except OutOfMemory:
        stats.complete, stats.bound = False, f"memory budget {watch.budget / 2**30:.2f} GiB reached"
    except OutOfTime:
        stats.complete, stats.bound = False, f"time budget {config.max_seconds:g} s reached"
    finally:
        frontier.close()
    stats.distinct_states = len(store)
    stats.depth = depth
    stats.store_bytes = store.nbytes + (found.graph.nbytes if found.graph is not None else 0)
    stats.seconds = time.perf_counter() - started
    stats.memo_entries = model.memo_entries_used()
    return found


def _spill_bytes(budget: int) -> int:
    """A level larger than this (estimated) goes to disk: a quarter of the budget."""
    return budget // 4


def _bounded(config: Any, stats: Stats, store: FingerprintStore, depth: int) -> bool:
    """Whether a bound stops the search after this level is judged (recorded in ``stats``)."""
    if config.max_depth is not None and depth >= config.max_depth:
        stats.complete, stats.bound = False, f"depth {config.max_depth}"
        return True
    if config.max_states is not None and len(store) >= config.max_states:
        stats.complete, stats.bound = False, f"{config.max_states} states"
        return True
    return False


class _Batch:
    """Candidate successors of a level, checked against the visited store a batch at a time."""

    __slots__ = ("fps", "nxt", "parents", "store", "worlds")

    def __init__(self, store: FingerprintStore, nxt: Frontier) -> None:
        self.store, self.nxt = store, nxt
        self.worlds: list[World] = []
        self.fps: list[int] = []
        self.parents: list[int] = []

    def flush(self) -> None:
        """Drop the candidates already visited; the rest join the next level (and the store's staged level)."""
        if not self.fps:
            return
        candidates = np.array(self.fps, dtype=np.uint64)
        fresh = self.store.unseen(candidates)
        self.store.stage(candidates[fresh], np.array(self.parents, dtype=np.uint64)[fresh])
        keep = fresh.tolist()
        self.nxt.extend([w for w, k in zip(self.worlds, keep) if k], [f for f, k in zip(self.fps, keep) if k])
        self.worlds, self.fps, self.parents = [], [], []


class _Level:
    """One breadth-first level, read once: each state is judged, then (unless a bound says
    otherwise) expanded; new successors form the next level.

    Why one class with long methods: this is the search's hot loop; its locals are bound
    once per level instead of being looked up on every transition.
    """

    def __init__(self, model: ActorModel, depth: int, found: Exploration, judges: Judge, steps: bool,
                 reduction: Reduction, watch: MemoryWatch, observers: Sequence[Observer], memo_bound: int) -> None:
        self.model, self.depth, self.found, self.judges = model, depth, found, judges
        self.memo_bound = memo_bound
        self.steps, self.reduction, self.watch, self.observers = steps, reduction, watch, observers
        self.stopped = False
        self.stop_on_violation = model.config.stop_on_violation

    def run(self, frontier: Frontier, expand: bool) -> Frontier:
        found = self.found
        nxt = Frontier(frontier.width, frontier.spill_bytes)
        batch = _Batch(found.store, nxt)
        level: set[int] = set()  # fingerprints met in this level (within-level duplicates)
        judging = self.judges.begin_level(found)
        plain = not (self.reduction.symmetry or self.reduction.por or found.graph is not None or self.steps
                     or self.observers)
        judge = self.judges.judge
        expand_new = self.model.expand_new
        watch = self.watch
        #: within a level the caches may reach twice their bound (their reuse is highest there), then
        #: they are emptied; between levels, at the bound itself (see ``explore``)
        memo_limit = 2 * self.memo_bound
        worlds, fps, parents = batch.worlds, batch.fps, batch.parents
        generated = 0
        for world, fp in frontier:
            if judging:
                judge(world, fp, self.depth, found)
                if self.stop_on_violation and (found.violated or found.violated_steps):
                    self.stopped = True
                    break
            if not expand:
                continue
            if plain:
                before = len(fps)
                generated += expand_new(world, fp, level, worlds, fps)
                new = len(fps) - before
                if new:
                    parents += [fp] * new
                    if before + new >= PREFILTER:
                        batch.flush()
                        worlds, fps, parents = batch.worlds, batch.fps, batch.parents
            else:
                generated += self._expand_one(world, fp, level, batch)
                if self.stop_on_violation and found.violated_steps:
                    self.stopped = True
                    break
                if len(batch.fps) >= PREFILTER:
                    batch.flush()
            if watch.tick():
                _relieve(self.model, watch)
            _bound_memo(self.model, found.stats, memo_limit)  # a level that alone outgrows the caches' bound
        batch.flush()
        found.store.commit_level()
        found.stats.states_generated += generated
        return nxt

    def _expand_one(self, world: World, fp: int, level: set[int], batch: _Batch) -> int:
        """With a reduction, the liveness graph, step properties or observers: every transition is looked at."""
        model, found, reduction = self.model, self.found, self.reduction
        graph = found.graph
        succs = model.successors(world, fp, loops=graph is not None)
        if reduction.por:
            succs = reduction.ample(world, succs, found.store, level)
        if self.observers:
            _tell(model, world, self.depth, self.observers)
        for real, real_fp, action, fair in succs:
            succ, succ_fp = real, real_fp
            if reduction.symmetry:
                succ = reduction.canonical(real)
                succ_fp = model.fingerprint(succ)
            if self.steps:  # judged on the real successor (a representative may rename the acting agent),
                self.judges.step(world, fp, self.depth, action, real, succ_fp, found)  # recorded as its representative
            if graph is not None:
                graph.src.append(fp)
                graph.dst.append(succ_fp)
                graph.cls.append(_class_of(model, graph, action) if fair else -1)
            if succ_fp == fp or succ_fp in level:
                continue
            level.add(succ_fp)
            batch.worlds.append(succ)
            batch.fps.append(succ_fp)
            batch.parents.append(fp)
        return len(succs)


def _bound_memo(model: ActorModel, stats: Stats, limit: int) -> None:
    """Empty the model's step caches if they hold more than ``limit`` entries (counted in ``stats``)."""
    if model.memo_size > limit:
        model.trim()
        stats.memo_trims += 1


def _relieve(model: ActorModel, watch: MemoryWatch) -> None:
    """Memory is near the budget: drop the caches; if that is not enough, stop."""
    model.trim()
    gc.collect()
    if watch.exceeded():
        raise OutOfMemory


def _class_of(model: ActorModel, graph: Graph, action: Action) -> int:
    """The fairness class id of a fair action (actions are shared objects: cached by identity)."""
    cls = graph.by_action.get(id(action))
    if cls is None:
        key = model.fairness_class(action)
        if key == UNFAIR:  # an optional action the protocol declares nothing obliges
            cls = -1
        else:
            cls = graph.classes.get(key)
            if cls is None:
                cls = graph.classes[key] = len(graph.classes)
                graph.actions[cls] = action
        graph.by_action[id(action)] = cls
    return cls


def _tell(model: ActorModel, world: World, depth: int, observers: Sequence[Observer]) -> None:
    """Tell observers of one world's transitions (only when some are attached: it costs a second step)."""
    protocol = model.protocol
    for action, succ, effects, _fair in model.transitions(world):
        if action.kind not in ("deliver", "timer"):
            for observer in observers:
                observer.on_fault(action.agent, action.kind, depth)  # crash, drop, duplicate
            continue
        detail = action.detail.message if action.kind == "deliver" else action.detail
        before, after = model.node_states(world)[action.agent], model.node_states(succ)[action.agent]
        step = ObservedStep(protocol, action.agent, action.kind, detail, before, after, effects, depth)
        for observer in observers:
            observer.on_step(step)
        interpret(effects, _Notifier(action.agent, depth, observers))


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


__all__ = ["Exploration", "Graph", "OutOfMemory", "Progress", "Snapshot", "check", "explore"]
