"""The partitioned search on one machine (``--workers N``), and the loop every driver shares.

:func:`coordinate` drives any pool of :class:`~.partition.PartitionWorker`
level by level: every worker judges and expands its share, the batches go to
their owners, every owner merges. It keeps the bounds, the memory and time
budgets and Ctrl-C as the one-process search does, and turns what the workers
found into verdicts: safety and reachability traces are rebuilt from the
owners' parent links; liveness is decided on the union of the workers'
transition-graph edges, in this process, as the one-process search would.

:class:`ProcessPool` is the local pool: forked processes, each holding one
worker, spoken to over pipes; it never leaves a process behind.
:mod:`.ray_search` provides the same pool as Ray actors.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, Protocol

import numpy as np

from ..core.errors import ConfigurationError
from ..core.properties import Kind, Property
from .memory import MemoryWatch, OutOfTime, peak_rss
from .model import ActorModel
from .ownership import Ownership, choose_ownership
from .partition import GraphPart, LevelReport, PartitionWorker
from .reduction import Reduction
from .replay import replay_path
from .results import CheckResult, PropertyResult, Stats
from .search import Exploration, Graph, OutOfMemory, Progress
from .store import FingerprintStore
from .verdicts import _liveness, not_applicable

__all__ = ["Pool", "ProcessPool", "coordinate", "parallel_check"]


class Pool(Protocol):
    """What :func:`coordinate` needs of a set of workers, whatever carries the calls."""

    workers: int

    def call_all(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Call ``method`` on every worker (``args[k]`` for worker ``k``); the answers in order."""

    def level(self, expand: bool) -> tuple[int, list[LevelReport]]:
        """One level: every worker expands, every batch reaches its owner, every owner merges."""

    def rebalance(self, plan: list[list[int]]) -> None:
        """Move ``plan[j][k]`` worlds of the next level from worker ``j`` to ``k``."""

    def close(self) -> None:
        """Stop every worker (idempotent; also after a failure or an interrupt)."""


class RelayPool(ABC):
    """A pool whose batches pass through the coordinator (local pipes)."""

    workers: int

    @abstractmethod
    def call_all(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        ...

    def level(self, expand: bool) -> tuple[int, list[LevelReport]]:
        expanded = self.call_all("expand", [(expand,)] * self.workers)
        generated = sum(g for _batches, g in expanded)
        inboxes = [([batches[k] for batches, _g in expanded],) for k in range(self.workers)]
        del expanded
        return generated, self.call_all("merge", inboxes)

    def rebalance(self, plan: list[list[int]]) -> None:
        gifts = self.call_all("donate", [(row,) for row in plan])
        self.call_all("adopt", [([gifts[j][k] for j in range(self.workers)],) for k in range(self.workers)])


class WorkerFailed(RuntimeError):
    """A worker raised (a protocol bug, say); every worker is stopped."""


# ------------------------------------------------------------------ local processes
def _serve(worker: PartitionWorker, conn: Connection) -> None:
    """A worker process: answer the coordinator's calls until told to stop (or the pipe closes)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    while True:
        try:
            command, *args = conn.recv()
        except (EOFError, OSError):
            return  # the coordinator is gone
        if command == "stop":
            return
        try:
            conn.send(("ok", getattr(worker, command)(*args)))
        except OutOfMemory:
            conn.send(("out-of-memory", None))
        except OutOfTime:
            conn.send(("out-of-time", None))
        except Exception as exc:  # reported; the coordinator stops every worker
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class ProcessPool(RelayPool):
    """``workers`` forked processes, each with a :class:`PartitionWorker` over a copy of the model."""

    def __init__(self, model: ActorModel, properties: Sequence[Property], ownership: Ownership, *,
                 memory_budget: int, max_seconds: float | None, keep_graph: bool) -> None:
        context = multiprocessing.get_context("fork")
        self.workers = workers = ownership.workers
        self.conns: list[Connection] = []
        self.procs: list[Any] = []
        self.pending: list[int] = []  # calls sent and not yet answered (an interrupted level leaves some)
        try:
            for k in range(workers):
                mine, theirs = context.Pipe()
                worker = PartitionWorker(model, properties, k, ownership, memory_budget=memory_budget // workers,
                                         max_seconds=max_seconds, keep_graph=keep_graph)
                proc = context.Process(target=_serve, args=(worker, theirs), daemon=True,
                                       name=f"mabeam-check-{k}")
                proc.start()
                theirs.close()
                self.conns.append(mine)
                self.procs.append(proc)
                self.pending.append(0)
        except BaseException:
            self.close()
            raise

    def call_all(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        for k, arg in enumerate(args):
            self._drain(k)
            self._send(k, (method, *arg))
        answers, failure = [], None
        for k in range(self.workers):  # read every answer, so no pipe is left mid-message
            try:
                answers.append(self._answer(k))
            except (OutOfMemory, OutOfTime, WorkerFailed) as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return answers

    def _send(self, k: int, message: tuple[Any, ...]) -> None:
        self.conns[k].send(message)
        self.pending[k] += 1

    def _drain(self, k: int) -> None:
        """Discard answers to calls an interrupt abandoned (the worker finishes them first)."""
        while self.pending[k]:
            with contextlib.suppress(OutOfMemory, OutOfTime, WorkerFailed):
                self._answer(k)

    def _answer(self, k: int) -> Any:
        try:
            status, value = self.conns[k].recv()
        except EOFError:
            self.pending[k] = 0
            raise WorkerFailed(f"worker {k} died (exit code {self.procs[k].exitcode})") from None
        self.pending[k] -= 1
        if status == "out-of-memory":
            raise OutOfMemory
        if status == "out-of-time":
            raise OutOfTime
        if status == "error":
            raise WorkerFailed(f"worker {k}: {value}")
        return value

    def close(self) -> None:
        """Stop every worker: asked first, killed if it does not go within a few seconds."""
        for conn in self.conns:
            with contextlib.suppress(OSError, ValueError):
                conn.send(("stop",))
        deadline = time.monotonic() + 5
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self.conns:
            conn.close()
        self.conns, self.procs = [], []


def parallel_check(model: ActorModel, properties: Sequence[Property], workers: int, *,
                   progress: Progress | None = None) -> CheckResult:
    """The partitioned search in ``workers`` forked processes (see the module docstring)."""
    if not hasattr(os, "fork"):
        raise ConfigurationError("--workers needs fork(); on this platform use --ray")

    def start(ownership: Ownership, budget: int, keep_graph: bool) -> Pool:
        return ProcessPool(model, properties, ownership, memory_budget=budget,
                           max_seconds=model.config.max_seconds, keep_graph=keep_graph)

    return coordinate(model, properties, workers, start, progress=progress,
                      note=f"partitioned search over {workers} local processes")


# ------------------------------------------------------------------ the shared loop
def check_workers(workers: Any) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(f"workers must be a positive integer, got {workers!r}")
    return workers


def coordinate(model: ActorModel, properties: Sequence[Property], workers: int,
               start: Callable[[Ownership, int, bool], Pool], *, progress: Progress | None = None, note: str = ""
               ) -> CheckResult:
    """Drive a pool (``start(ownership, memory_budget, keep_graph)``) level by level to a result.

    Why one long function: it is the partitioned search's loop, bounds, budgets,
    interrupts and the final report included, kept together as in :func:`.search.explore`.
    """
    check_workers(workers)
    if model.config.por:
        raise ConfigurationError("partial-order reduction needs one visited set: run it without --workers/--ray")
    applicable = [p for p in properties if p.applies(model.protocol)]
    config = model.config
    reduction = Reduction(model, applicable)
    keep_graph = any(p.kind is Kind.EVENTUALLY for p in applicable) and config.fair_links and \
        reduction.judges_liveness
    started = time.perf_counter()
    deadline = None if config.max_seconds is None else time.monotonic() + config.max_seconds
    budget = config.max_memory or MemoryWatch(None).budget
    root = reduction.canonical(model.initial())
    root_fp = model.fingerprint(root)
    stats = Stats()
    reports: list[LevelReport] = []
    depth, stored, generated, high_water = 0, 1, 1, 0
    ownership = choose_ownership(model, workers, reduction)
    pool = start(ownership, budget, keep_graph)
    try:
        try:
            pool.call_all("seed", [(root_fp,)] * workers)
            frontier = 1
            while frontier:
                expand = not _bounded(config, stats, depth, stored)
                explored, reports = pool.level(expand)
                generated += explored
                stored = sum(r.stored for r in reports)
                frontier = sum(r.new for r in reports)
                plan = _rebalance([r.new for r in reports])
                if plan is not None and expand:
                    pool.rebalance(plan)
                rss = sum(r.rss for r in reports)
                high_water = max(high_water, rss)
                if not expand:
                    break
                if config.stop_on_violation and any(r.violated or r.violated_steps for r in reports):
                    stats.complete, stats.bound = False, "stopped at the first violation"
                    break
                if frontier:
                    depth += 1
                if progress is not None:
                    progress({"depth": depth, "distinct_states": stored, "states_generated": generated,
                              "seconds": time.perf_counter() - started, "rss_bytes": rss, "frontier": frontier,
                              "workers": workers, "worker_rss_bytes": [r.rss for r in reports]})
                if rss > budget:
                    raise OutOfMemory
                if deadline is not None and time.monotonic() > deadline:
                    raise OutOfTime
        except KeyboardInterrupt:
            stats.complete, stats.bound = False, "interrupted (Ctrl-C)"
        except OutOfMemory:
            stats.complete, stats.bound = False, f"memory budget {budget / 2**30:.2f} GiB reached (all workers)"
        except OutOfTime:
            stats.complete, stats.bound = False, f"time budget {config.max_seconds:g} s reached"
        stats.distinct_states, stats.depth, stats.states_generated = stored, depth, generated
        results = _verdicts(model, applicable, reports, stats, pool, reduction, root_fp, budget) if reports else []
    finally:
        pool.close()
    stats.seconds = time.perf_counter() - started
    stats.peak_rss_bytes = peak_rss() + high_water
    stats.worker_cpu = [r.cpu for r in reports]
    notes = reduction.notes() + [f"{note}; {ownership.describe(model)}" if note else ownership.describe(model)]
    if not reports:
        results = [PropertyResult(p, "incomplete", note=stats.bound or "the search did not start")
                   for p in applicable]
    return CheckResult(results + not_applicable([p for p in properties if not p.applies(model.protocol)]),
                       stats, notes=notes)


#: a level is rebalanced when its largest share exceeds the even share by this factor
REBALANCE_ABOVE = 1.08
#: ... and it has at least this many worlds
REBALANCE_FLOOR = 2000


def _rebalance(sizes: list[int]) -> list[list[int]] | None:
    """How many worlds each worker should hand each other (``plan[j][k]``: from j to k), or ``None``."""
    total, workers = sum(sizes), len(sizes)
    even = total / workers
    if total < REBALANCE_FLOOR or max(sizes) <= REBALANCE_ABOVE * even:
        return None
    target = [total // workers + (1 if k < total % workers else 0) for k in range(workers)]
    surplus = [max(0, s - t) for s, t in zip(sizes, target)]
    deficit = [max(0, t - s) for s, t in zip(sizes, target)]
    plan = [[0] * workers for _ in range(workers)]
    for j in range(workers):
        for k in range(workers):
            moved = min(surplus[j], deficit[k])
            if moved:
                plan[j][k] = moved
                surplus[j] -= moved
                deficit[k] -= moved
    return plan


def _bounded(config: Any, stats: Stats, depth: int, stored: int) -> bool:
    if config.max_depth is not None and depth >= config.max_depth:
        stats.complete, stats.bound = False, f"depth {config.max_depth}"
        return True
    if config.max_states is not None and stored >= config.max_states:
        stats.complete, stats.bound = False, f"{config.max_states} states"
        return True
    return False


def _first(reports: list[LevelReport], attr: str) -> dict[str, Any]:
    """Across workers, each property's shallowest finding (ties: the lowest worker, deterministic)."""
    best: dict[str, Any] = {}
    for report in reports:
        for pid, found in getattr(report, attr).items():
            if pid not in best or found[1] < best[pid][1]:
                best[pid] = found
    return best


def _verdicts(model: ActorModel, properties: Sequence[Property], reports: list[LevelReport], stats: Stats,
              pool: Pool, reduction: Reduction, root: int, budget: int) -> list[PropertyResult]:
    """One result per property, in the one-process search's order (safety, steps, goals, liveness)."""
    canonical = reduction.canonical if reduction.symmetry else None
    violated, reached, steps = _first(reports, "violated"), _first(reports, "reached"), \
        _first(reports, "violated_steps")
    workers = pool.workers

    def path(fp: int, depth: int) -> list[tuple[Any, int]]:
        chain = [fp]
        for level in range(depth, 0, -1):
            held = [p for p in pool.call_all("parent_of", [(chain[-1], level)] * workers) if p is not None]
            chain.append(held[0])
        return [(None, f) for f in reversed(chain)]

    def silent(p: Property, what: str, done: str) -> PropertyResult:
        return PropertyResult(p, done) if stats.complete else \
            PropertyResult(p, "incomplete", note=f"{what} so far; search bounded by {stats.bound}")

    results: list[PropertyResult] = []
    for p in (p for p in properties if p.kind is Kind.ALWAYS):
        results.append(PropertyResult(p, "violated", replay_path(model, path(*violated[p.id]), canonical))
                       if p.id in violated else silent(p, "no violation found", "holds"))
    for p in (p for p in properties if p.kind is Kind.STEP):
        if p.id in steps:
            src, depth, _key, dst = steps[p.id]
            results.append(PropertyResult(p, "violated", replay_path(model, [*path(src, depth), (None, dst)],
                                                                       canonical)))
        else:
            results.append(silent(p, "no violation found", "holds"))
    for p in (p for p in properties if p.kind is Kind.SOMETIMES):
        results.append(PropertyResult(p, "reached", replay_path(model, path(*reached[p.id]), canonical),
                                      note="witness") if p.id in reached else silent(p, "not reached", "unreached"))
    live = [p for p in properties if p.kind is Kind.EVENTUALLY]
    if live:
        found = _gathered(pool, root, stats, budget) if stats.complete and model.config.fair_links and \
            reduction.judges_liveness else Exploration(FingerprintStore(), root, stats, memory_budget=budget)
        results += [_liveness(model, p, found, reduction) for p in live]
    return results


def _gathered(pool: Pool, root: int, stats: Stats, budget: int) -> Exploration:
    """The workers' visited sets and transition-graph edges, joined here to decide liveness."""
    store = FingerprintStore.of_sorted(np.sort(np.concatenate(
        [np.frombuffer(b, dtype=np.uint64) for b in pool.call_all("fingerprints", [()] * pool.workers)])))
    graph = Graph()
    live_true: dict[str, list[int]] = {}
    for part in pool.call_all("graph_part", [()] * pool.workers):
        _join(graph, part, live_true)
    return Exploration(store, root, stats, live_true=live_true, graph=graph, memory_budget=budget)


def _join(graph: Graph, part: GraphPart, live_true: dict[str, list[int]]) -> None:
    """Add one worker's edges, renumbering its fairness classes into the joined graph's."""
    local = np.frombuffer(part.cls, dtype=np.int32)
    renumber = np.full(max(part.classes, default=-1) + 2, -1, dtype=np.int32)
    for cls, key in part.classes.items():
        if key not in graph.classes:
            graph.classes[key] = len(graph.classes)
            graph.actions[graph.classes[key]] = part.actions[cls]
        renumber[cls] = graph.classes[key]
    graph.src.frombytes(part.src)
    graph.dst.frombytes(part.dst)
    graph.cls.frombytes(np.where(local >= 0, renumber[local], -1).astype(np.int32).tobytes())
    for pid, fps in part.live_true.items():
        live_true.setdefault(pid, []).extend(fps)


def cpu_count() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
