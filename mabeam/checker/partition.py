"""One share of a partitioned breadth-first search, free of any transport.

Worker ``k`` of ``W`` owns the worlds an :class:`~.ownership.Ownership` assigns
it: it keeps those worlds' part of the visited set, judges them and expands
them (or hands some to another worker to expand, when a level is lumpy). The
successors it finds are routed to their owners once per level, so the search
stays level-synchronous and counterexamples stay shortest.

A batch is compact. Each world is a row of 64-bit component fingerprints in
one ``uint64`` buffer, with its fingerprint and its parent's in two more;
component *values* (node states, networks, facts, envelopes) travel only the
first time a worker sends them to another. The content-addressed fingerprints
(:mod:`.canonical`) make that possible: the receiver interns a value and gets
the fingerprint the sender used, which it checks. No state is pickled.

The drivers (:mod:`.parallel` for local processes, :mod:`.ray_search` for Ray
actors) only move the bytes :meth:`PartitionWorker.expand` returns to the
owners' :meth:`PartitionWorker.merge`.
"""

from __future__ import annotations

import gc
import itertools
import pickle
import time
from array import array
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.properties import Kind, Property
from .canonical import Interner
from .frontier import Frontier
from .judge import Judge
from .memory import MemoryWatch, OutOfTime, current_rss
from .model import Action, ActorModel, World
from .ownership import Ownership
from .reduction import Reduction
from .results import Stats
from .search import Exploration, Graph, OutOfMemory, _class_of
from .store import FingerprintStore

__all__ = ["LevelReport", "OutOfMemory", "OutOfTime", "PartitionWorker"]


@dataclass
class LevelReport:
    """What a worker tells the driver after merging a level."""

    new: int  # states it added to the next level
    stored: int  # its visited states so far
    violated: dict[str, tuple[int, int]] = field(default_factory=dict)
    reached: dict[str, tuple[int, int]] = field(default_factory=dict)
    violated_steps: dict[str, tuple[int, int, list[str], int]] = field(default_factory=dict)
    rss: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # this worker's CPU seconds so far, by phase


@dataclass
class GraphPart:
    """A worker's edges of the transition graph, for deciding liveness in one place."""

    src: bytes
    dst: bytes
    cls: bytes
    classes: dict[int, Hashable]  # local class id -> fairness class
    actions: dict[int, Action]  # local class id -> a representative action
    live_true: dict[str, list[int]]


class PartitionWorker:
    """One share of a partitioned search; each method is a step the driver calls in turn."""

    def __init__(self, model: ActorModel, properties: Sequence[Property], index: int, ownership: Ownership, *,
                 memory_budget: int | None = None, max_seconds: float | None = None,
                 keep_graph: bool = False) -> None:
        workers = ownership.workers
        self.model, self.index, self.workers, self.ownership = model, index, workers, ownership
        self.properties = list(properties)
        self.reduction = Reduction(model, properties)
        self.judge = Judge(model, self.properties)
        self.steps = any(p.kind is Kind.STEP for p in self.properties)
        self.store = FingerprintStore()
        self.watch = MemoryWatch(memory_budget, deadline=None if max_seconds is None
                                 else time.monotonic() + max_seconds)
        live = [p.id for p in self.properties if p.kind is Kind.EVENTUALLY]
        self.found = Exploration(self.store, 0, Stats(), live_true={pid: [] for pid in live},
                                 graph=Graph() if keep_graph else None)
        self.width = model.n + 3
        self.frontier = Frontier(self.width, self.watch.budget // 4)
        self.depth = 0
        #: per destination worker and component table: fingerprints already sent there
        self.sent: list[dict[str, set[int]]] = [
            {"agent": set(), "network": set(), "envelope": set(), "facts": set(), "faults": set(), "message": set()}
            for _ in range(workers)]
        self._own: tuple[list[World], np.ndarray, np.ndarray] | None = None
        self.cpu = {"expand": 0.0, "route": 0.0, "merge": 0.0}
        gc.disable()  # worlds are acyclic tuples of ints: the cyclic collector would only rescan them

    # ------------------------------------------------------------ the levels
    def seed(self, fp: int) -> None:
        """The initial world (built here: a worker in another process has its own component tables; the
        fingerprint the coordinator computed must agree): its owner keeps it; every share starts a level 0."""
        world = self.reduction.canonical(self.model.initial())
        if self.model.fingerprint(world) != fp:
            raise RuntimeError("the initial world's fingerprint differs between the coordinator and a worker")
        self.found.root = fp
        if self.ownership.owner(world, fp) == self.index:
            self.store.add_level(np.array([fp], dtype=np.uint64), np.array([fp], dtype=np.uint64))
            self.frontier.append(world, fp)
        else:
            self.store.commit_level(keep_empty=True)

    def expand(self, expand: bool) -> tuple[list[bytes], int]:
        """Judge this share of the level and, unless a bound stops the search, expand it.

        Returns one batch per worker (empty for itself: its own successors stay here)
        and how many transitions were explored.
        """
        started = time.process_time()
        judge, found, depth = self.judge, self.found, self.depth
        judging = judge.begin_level(found)
        worlds: list[World] = []
        fps: list[int] = []
        parents: list[int] = []
        level: set[int] = set()
        plain = not (self.reduction.symmetry or found.graph is not None or self.steps)
        expand_new, tick = self.model.expand_new, self.watch.tick
        generated = 0
        for world, fp in self.frontier:
            if judging:
                judge.judge(world, fp, depth, found)
            if not expand:
                continue
            if plain:
                before = len(fps)
                generated += expand_new(world, fp, level, worlds, fps)
                if len(fps) > before:
                    parents += [fp] * (len(fps) - before)
            else:
                generated += self._expand_one(world, fp, level, worlds, fps, parents)
            if tick():
                self.model.trim()
                gc.collect()
                if self.watch.exceeded():
                    raise OutOfMemory
        self.frontier.close()
        routing = time.process_time()
        self.cpu["expand"] += routing - started
        batches = self._route(worlds, fps, parents)
        self.cpu["route"] += time.process_time() - routing
        return batches, generated

    def _expand_one(self, world: World, fp: int, level: set[int], worlds: list[World], fps: list[int],
                    parents: list[int]) -> int:
        """The general path (symmetry, step properties or the liveness graph), as in the one-process search."""
        model, found, reduction = self.model, self.found, self.reduction
        graph = found.graph
        succs = model.successors(world, fp, loops=graph is not None)
        for real, real_fp, action, fair in succs:
            succ, succ_fp = real, real_fp
            if reduction.symmetry:
                succ = reduction.canonical(real)
                succ_fp = model.fingerprint(succ)
            if self.steps:  # judged on the real successor (a representative may rename the acting agent),
                self.judge.step(world, fp, self.depth, action, real, succ_fp, found)  # recorded as its representative
            if graph is not None:
                graph.src.append(fp)
                graph.dst.append(succ_fp)
                graph.cls.append(_class_of(model, graph, action) if fair else -1)
            if succ_fp == fp or succ_fp in level:
                continue
            level.add(succ_fp)
            worlds.append(succ)
            fps.append(succ_fp)
            parents.append(fp)
        return len(succs)

    def merge(self, batches: Sequence[bytes]) -> LevelReport:
        """Take the level's successors routed here; the ones not visited yet form the next level."""
        assert self._own is not None, "merge follows expand"
        started = time.process_time()
        own_worlds, own_fps, own_parents = self._own
        self._own = None
        rows: list[np.ndarray] = []
        fp_parts, parent_parts = [own_fps], [own_parents]
        for batch in batches:
            if batch:
                matrix, fps, parents = self._unpack(batch)
                rows.append(matrix)
                fp_parts.append(fps)
                parent_parts.append(parents)
        all_fps = np.concatenate(fp_parts)
        all_parents = np.concatenate(parent_parts)
        new = 0
        if all_fps.size:
            unique, first = np.unique(all_fps, return_index=True)
            chosen = np.sort(first[self.store.unseen(unique)])
            self.store.stage(all_fps[chosen], all_parents[chosen])
            new = int(chosen.size)
            self._fill_frontier(chosen, all_fps, own_worlds, rows)
        self.store.commit_level(keep_empty=True)
        self.depth += 1
        found = self.found
        self.cpu["merge"] += time.process_time() - started
        return LevelReport(new, len(self.store), dict(found.violated), dict(found.reached),
                           {k: (s, d, a.key(), t) for k, (s, d, a, t) in found.violated_steps.items()},
                           current_rss(), dict(self.cpu))

    def _fill_frontier(self, chosen: np.ndarray, all_fps: np.ndarray, own: list[World],
                       rows: list[np.ndarray]) -> None:
        """The next level: the chosen positions, read from this worker's own successors or the batches."""
        self.frontier = Frontier(self.width, self.frontier.spill_bytes)
        start = 0
        segments: list[list[World] | np.ndarray] = [own, *rows]
        for segment in segments:
            stop = start + len(segment)
            lo, hi = np.searchsorted(chosen, [start, stop])
            picked = chosen[lo:hi] - start
            if picked.size:
                if isinstance(segment, list):
                    worlds = [segment[i] for i in picked.tolist()]
                else:
                    worlds = list(zip(*segment[picked].T.tolist()))
                self.frontier.extend(worlds, all_fps[picked + start].tolist())
            start = stop

    def donate(self, counts: Sequence[int]) -> list[bytes]:
        """Hand ``counts[k]`` worlds of the next level to worker ``k`` to expand (their owner stays this
        worker: only the work moves, so a lumpy partition does not leave a worker idle)."""
        batches: list[bytes] = []
        for k, count in enumerate(counts):
            worlds, fps = self.frontier.take(count) if count and k != self.index else ([], [])
            batches.append(self._batch(k, worlds, np.array(fps, dtype=np.uint64), np.array(fps, dtype=np.uint64))
                           if worlds else b"")
        return batches

    def adopt(self, batches: Sequence[bytes]) -> int:
        """Take the worlds other workers handed over; how many this worker now has to expand."""
        for batch in batches:
            if batch:
                matrix, fps, _parents = self._unpack(batch)
                self.frontier.extend(list(zip(*matrix.T.tolist())), fps.tolist())
        return len(self.frontier)

    def parent_of(self, fp: int, level: int) -> int | None:
        """The parent of ``fp`` (found at ``level``) if this share holds it."""
        try:
            return self.store.parent_of(fp, level)
        except KeyError:
            return None

    def fingerprints(self) -> bytes:
        """This share's visited fingerprints, sorted."""
        return self.store.sorted_fingerprints.tobytes()

    def graph_part(self) -> GraphPart | None:
        graph = self.found.graph
        if graph is None:
            return None
        classes = {cls: key for key, cls in graph.classes.items()}
        return GraphPart(graph.src.tobytes(), graph.dst.tobytes(), graph.cls.tobytes(), classes,
                         dict(graph.actions), self.found.live_true)

    # ------------------------------------------------------------ batches
    def _route(self, worlds: list[World], fps: list[int], parents: list[int]) -> list[bytes]:
        """Split the level's successors by owner: this worker's stay as tuples, the rest become batches."""
        fp_arr = np.fromiter(fps, dtype=np.uint64, count=len(fps))
        parent_arr = np.fromiter(parents, dtype=np.uint64, count=len(parents))
        owners = self.ownership.owners(worlds, fp_arr)
        batches: list[bytes] = []
        for k in range(self.workers):
            picked = np.flatnonzero(owners == k)
            if k == self.index:
                mine = worlds if picked.size == len(worlds) else [worlds[i] for i in picked.tolist()]
                self._own = (mine, fp_arr[picked], parent_arr[picked])
                batches.append(b"")
            elif picked.size == 0:
                batches.append(b"")
            else:
                batches.append(self._batch(k, [worlds[i] for i in picked.tolist()], fp_arr[picked],
                                           parent_arr[picked]))
        return batches

    def _batch(self, k: int, worlds: list[World], fps: np.ndarray, parents: np.ndarray) -> bytes:
        """Worlds for worker ``k`` as one buffer of component fingerprints, with what ``k`` lacks to read them."""
        flat = array("Q", itertools.chain.from_iterable(worlds))
        matrix = np.frombuffer(flat, dtype=np.uint64).reshape(-1, self.width)
        values = self._definitions(k, matrix)
        return pickle.dumps((flat.tobytes(), fps.tobytes(), parents.tobytes(), values), protocol=5)

    def _definitions(self, k: int, matrix: np.ndarray) -> list[tuple[str, int, Any]]:
        """The component values worker ``k`` needs for ``matrix`` and has not been sent yet."""
        model, sent = self.model, self.sent[k]
        n = model.n
        out: list[tuple[str, int, Any]] = []

        def ship(kind: str, fps: Sequence[int], table: Any) -> list[int]:
            known = sent[kind]
            fresh = [fp for fp in fps if fp not in known]
            known.update(fresh)
            out.extend((kind, fp, table[fp]) for fp in fresh)
            return fresh

        ship("agent", np.unique(matrix[:, :n]).tolist(), model._agents)
        networks = [fp for fp in np.unique(matrix[:, n]).tolist() if fp not in sent["network"]]
        envelopes = {e for net in networks for e in
                     ((fp for fp, _c in model._networks[net]) if model.multiset else model._networks[net])}
        fresh_envelopes = [fp for fp in sorted(envelopes) if fp not in sent["envelope"]]
        sent["envelope"].update(fresh_envelopes)
        out.extend(("envelope", fp, (model._envelope_of[fp], model._order[fp][2])) for fp in fresh_envelopes)
        ship("network", networks, model._networks)
        ship("facts", np.unique(matrix[:, n + 1]).tolist(), model._facts)
        faults = [fp for fp in np.unique(matrix[:, n + 2]).tolist() if fp not in sent["faults"]]
        ship("message", sorted({m for fp in faults for m in model._faults[fp][2]}), model._messages)
        ship("faults", faults, model._faults)
        return out

    def _unpack(self, batch: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        flat, fps, parents, values = pickle.loads(batch)
        model = self.model
        for kind, fp, value in values:
            if kind == "agent":
                got = model._agent_comp(value)
            elif kind == "envelope":
                env, injected = value
                got = model._envelope(env, injected=injected)
            else:
                tables: dict[str, Interner[Any]] = {"network": model._networks, "facts": model._facts,
                                                    "faults": model._faults, "message": model._messages}
                got = tables[kind].add(value)
            if got != fp:
                raise RuntimeError(f"a shipped {kind} component's fingerprint differs between workers")
        matrix = np.frombuffer(flat, dtype=np.uint64).reshape(-1, self.width)
        return matrix, np.frombuffer(fps, dtype=np.uint64), np.frombuffer(parents, dtype=np.uint64)
