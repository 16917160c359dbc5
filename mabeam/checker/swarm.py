"""Swarm search: many small, independent, diversified searches for sizes no exhaustive search finishes.

After SPIN's swarm verification (Holzmann, Joshi and Groce): rather than one
search that runs out of memory, run K cheap ones that each look somewhere else,
and merge what they found. Each :class:`SwarmTask` is seeded and differs from
its neighbours in strategy and action order:

* ``walk``: random walks of a task-chosen length, preferring, by the task's
  bias, deliveries, timers, the adversary's messages, or successors not seen yet;
* ``prefix-bfs``: a random walk to a random depth, then a depth- and
  state-bounded breadth-first search from where it stopped;
* ``quiesce``: a random walk to a random depth, then only fair actions, in
  random order, until none leads anywhere else: the deep end of a fair run,
  where liveness failures and late safety failures show. When the fair walk
  starts going round (it revisits a state of its own) with a liveness property
  false, the region around it is explored and searched for a fair cycle
  (:mod:`.lasso`).

Each task runs rounds of the three strategies in turn, starting with its own
strategy and bias; after each three rounds it moves on to the next bias and
quiesce mode: any fair action; patient (a timer fires only when no fair message
is left to deliver: the run after stabilisation, where a protocol must
progress); isolated (patient, but one honest agent times out first and hears
nothing while the faulty agents deliver to everyone else, until the others are
done: a replica left behind).
Every visited state is judged by the safety and reachability properties, every
step taken by the step properties. A liveness property is violated by a weakly
fair run on which it never holds: one that stops in a state no fair action
leaves (like the exhaustive search's stuttering counterexamples), or a lasso
whose cycle takes every fairness class enabled all round it. Every finding is
re-checked on its replayed trace before it is reported. The merge reports
coverage (the union of the tasks' fingerprints: distinct states seen, and
states per second) and, per property, the shortest violation any task found,
minimised: steps that are not needed are deleted while the violation persists
(a lasso's cycle is kept), and (for safety) a bounded search around each
remaining state looks for a shortcut. Nothing is ever "holds": a swarm is
evidence, not proof.

Tasks run in local processes (forked from the model) or as Ray tasks.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from ..core.errors import ConfigurationError, ReplayError
from ..core.identity import AgentId
from ..core.properties import Kind, Property
from ..core.rng import SeededRandom
from .lasso import explore_region, lasso_fails, leaves_fairly, region_lasso
from .memory import MemoryWatch, current_rss, peak_rss
from .model import Action, ActorModel, World
from .replay import replay_actions
from .results import CheckResult, PropertyResult, Stats, Trace

__all__ = ["SwarmTask", "swarm_check", "swarm_tasks"]

STRATEGIES = ("walk", "prefix-bfs", "quiesce")
#: steps a ``quiesce`` run may take after its prefix before it gives up on reaching quiescence
QUIESCE_STEPS = 20_000
BIASES = ("uniform", "fair-first", "unseen-first", "timers-first", "injected-first", "deliver-first")
WALK_LENGTHS = (40, 80, 160, 320)
#: how a quiesce picks its fair actions: at random; timers only when no fair delivery is left
#: (patient); patient, with one honest agent cut off, its timer fired, while the others hear
#: everything, the faulty agents' messages too, until they are done (a lagging replica)
QUIESCE_MODES = ("any", "patient", "isolated")
#: states a minimising search may visit around each state of a counterexample
AROUND_STATES = 4000


@dataclass(frozen=True)
class SwarmTask:
    """One member of the swarm: what it searches, how, and for how long."""

    index: int
    seed: int
    strategy: str
    bias: str
    walk_length: int
    seconds: float
    bfs_depth: int = 8
    bfs_states: int = 50_000
    memory_budget: int | None = None
    stop_on_violation: bool = False  # end this task (and the swarm) at its first safety violation


@dataclass
class TaskReport:
    """What one task saw: its fingerprints (sorted, unique) and its shortest findings as action keys."""

    index: int
    strategy: str
    bias: str
    fingerprints: bytes
    visited: int  # states judged (with repeats)
    transitions: int
    seconds: float
    rss: int
    violated: dict[str, list[list[str]]] = field(default_factory=dict)
    reached: dict[str, list[list[str]]] = field(default_factory=dict)
    stopped: str = ""
    cycles: dict[str, int] = field(default_factory=dict)  # liveness id -> the step its finding's cycle starts at


def swarm_tasks(count: int, seconds: float, *, seed: int = 0, memory_budget: int | None = None,
                stop_on_violation: bool = False) -> list[SwarmTask]:
    """``count`` diversified tasks of ``seconds`` each (strategy, bias and walk length vary with the index)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigurationError(f"--swarm must be a positive number of searches, got {count!r}")
    return [SwarmTask(i, seed * 1_000_003 + i, STRATEGIES[i % len(STRATEGIES)],
                      BIASES[(i // len(STRATEGIES)) % len(BIASES)], WALK_LENGTHS[(i // 3) % len(WALK_LENGTHS)],
                      seconds, memory_budget=memory_budget, stop_on_violation=stop_on_violation)
            for i in range(count)]


# ------------------------------------------------------------------ one task
class _Searcher:
    """Runs one task over a model: judging what it visits, remembering the shortest findings."""

    def __init__(self, model: ActorModel, properties: Sequence[Property], task: SwarmTask) -> None:
        self.model, self.task = model, task
        self.rng = SeededRandom(f"swarm/{task.seed}")
        self.safety = [p for p in properties if p.kind is Kind.ALWAYS]
        self.goals = [p for p in properties if p.kind is Kind.SOMETIMES]
        self.steps = [p for p in properties if p.kind is Kind.STEP]
        self.live = [p for p in properties if p.kind is Kind.EVENTUALLY] if model.config.fair_links else []
        self.seen: set[int] = set()
        self.visited = self.transitions = 0
        self.violated: dict[str, list[Action]] = {}
        self.reached: dict[str, list[Action]] = {}
        self.cycles: dict[str, int] = {}
        self.bias = task.bias  # the task's own in its first rounds, then the next ones in turn
        self.quiet = "any"  # how a quiesce picks among fair actions (see QUIESCE_MODES)
        self.deadline = time.monotonic() + task.seconds
        self.watch = MemoryWatch(task.memory_budget, every=2048, deadline=self.deadline)
        self.stopped = ""

    def out_of_budget(self) -> bool:
        if self.stopped:
            return True
        if self.task.stop_on_violation and self.violated:
            self.stopped = "found a violation"
            return True
        try:
            if self.watch.tick() and self.watch.exceeded():
                self.stopped = "memory budget"
        except Exception:  # OutOfTime
            self.stopped = "time budget"
        return bool(self.stopped)

    def judge(self, world: World, fp: int, depth: int, path: Callable[[], list[Action]]) -> None:
        """Judge a state not seen before (``depth`` steps from the start; ``path`` builds them, only
        when something is found)."""
        self.visited += 1
        if fp in self.seen:
            return
        self.seen.add(fp)
        if not (self.safety or self.goals):
            return
        snap = self.model.snapshot(world)
        for p in self.safety:
            found = self.violated.get(p.id)
            if (found is None or depth < len(found)) and not p.holds(snap):
                self.violated[p.id] = path()
        for p in self.goals:
            found = self.reached.get(p.id)
            if (found is None or depth < len(found)) and p.holds(snap):
                self.reached[p.id] = path()

    def judge_stuck(self, world: World, options: list[tuple[World, int, Action, bool]], depth: int,
                    path: Callable[[], list[Action]]) -> None:
        """A state no fair action leaves: a liveness property false here is violated (the run stays)."""
        if not self.live or any(leaves_fairly(self.model, o[2], o[3]) for o in options):
            return
        snap = self.model.snapshot(world)
        for p in self.live:
            found = self.violated.get(p.id)
            if (found is None or depth < len(found)) and not p.holds(snap):
                self.violated[p.id] = path()
                self.cycles.pop(p.id, None)

    def judge_step(self, world: World, action: Action, succ: World, path: Callable[[], list[Action]]) -> None:
        if not self.steps:
            return
        before, after = self.model.snapshot(world), self.model.snapshot(succ)
        for p in self.steps:
            if not p.holds_on_step(before, action, after):
                route = path()
                if p.id not in self.violated or len(route) < len(self.violated[p.id]):
                    self.violated[p.id] = route

    def choose(self, options: list[tuple[World, int, Action, bool]]) -> tuple[World, int, Action, bool]:
        bias = self.bias
        if bias == "fair-first" and self.rng.random() < 0.75:  # progress: what the honest members sent
            options = [o for o in options if o[3]] or options
        elif bias == "unseen-first":
            fresh = [o for o in options if o[1] not in self.seen]
            options = fresh or options
        elif bias in ("deliver-first", "timers-first", "injected-first") and self.rng.random() < 0.75:
            preferred = [o for o in options if _kind_matches(self.model, bias, o[2])]
            options = preferred or options
        return options[self.rng.randrange(len(options))]

    def walk(self, length: int) -> tuple[World, int, list[Action]]:
        """One random walk from the initial state; where it ended and how it got there."""
        model = self.model
        world = model.initial()
        fp = model.fingerprint(world)
        path: list[Action] = []
        self.judge(world, fp, 0, lambda: list(path))
        for _ in range(length):
            if self.out_of_budget():
                break
            options = model.successors(world, fp)
            self.transitions += len(options)
            self.judge_stuck(world, options, len(path), lambda: list(path))
            if not options:
                break
            succ, succ_fp, action, _fair = self.choose(options)
            path.append(action)
            self.judge_step(world, action, succ, lambda: list(path))
            world, fp = succ, succ_fp
            self.judge(world, fp, len(path), lambda: list(path))
        return world, fp, path

    def bounded_bfs(self, start: World, start_fp: int, prefix: list[Action]) -> None:
        """Breadth-first from ``start`` to the task's depth and state bounds."""
        model, task = self.model, self.task
        parents: dict[int, tuple[int, Action] | None] = {start_fp: None}

        def route(fp: int, then: Action | None = None) -> list[Action]:
            actions: list[Action] = [] if then is None else [then]
            link = parents[fp]
            while link is not None:
                fp, action = link
                actions.append(action)
                link = parents[fp]
            return prefix + actions[::-1]

        queue: deque[tuple[World, int, int]] = deque([(start, start_fp, 0)])
        while queue and len(parents) < task.bfs_states and not self.out_of_budget():
            world, fp, depth = queue.popleft()
            if depth >= task.bfs_depth:
                continue
            options = model.successors(world, fp)
            self.transitions += len(options)
            self.judge_stuck(world, options, len(prefix) + depth, partial(route, fp))
            for succ, succ_fp, action, _fair in options:
                if self.steps:
                    self.judge_step(world, action, succ, partial(route, fp, action))
                if succ_fp in parents:
                    continue
                parents[succ_fp] = (fp, action)
                self.judge(succ, succ_fp, len(prefix) + depth + 1, partial(route, succ_fp))
                queue.append((succ, succ_fp, depth + 1))

    def quiesce(self, world: World, fp: int, path: list[Action]) -> None:
        """From the end of a prefix, fair actions only, until no fair action leads elsewhere, or
        until the walk goes round (then a fair cycle is looked for around where it is)."""
        model = self.model
        on_walk: set[int] = {fp}
        honest = [a for a in model.agents if a not in model.byzantine]
        cut = honest[self.rng.randrange(len(honest))] if self.quiet == "isolated" and honest else None
        started, faulty_left = False, 4 * model.n  # the faulty agents' deliveries allowed while it is cut off
        for _ in range(QUIESCE_STEPS):
            if self.out_of_budget():
                return
            options = model.successors(world, fp)
            self.transitions += len(options)
            fair = [o for o in options if leaves_fairly(model, o[2], o[3])]
            if cut is not None:  # it times out hearing nothing; the others hear everything, the faulty too
                fair, cut, faulty_left = self.isolated_choices(options, fair, cut, faulty_left, not started)
                started = True
                if cut is None:
                    on_walk = set()  # from here on only fair actions: a revisit is a fair cycle's
            if not fair:
                self.judge_stuck(world, options, len(path), lambda: list(path))
                return
            if self.quiet != "any":  # messages arrive before timeouts: the run after stabilisation
                fair = [o for o in fair if o[2].kind != "timer"] or fair
            succ, succ_fp, action, _fair = fair[self.rng.randrange(len(fair))]
            path.append(action)
            self.judge_step(world, action, succ, lambda: list(path))
            world, fp = succ, succ_fp
            self.judge(world, fp, len(path), lambda: list(path))
            if cut is None and fp in on_walk:
                self.look_for_cycles(world, fp, path)
                return
            on_walk.add(fp)

    def isolated_choices(self, options: list[tuple[World, int, Action, bool]],
                         fair: list[tuple[World, int, Action, bool]], cut: AgentId, faulty_left: int, first: bool
                         ) -> tuple[list[tuple[World, int, Action, bool]], AgentId | None, int]:
        """While ``cut`` is cut off: its own timer first, then the others' fair deliveries and, now and
        then (a bounded number of times), a faulty agent's message to them; the cut ends (``None``)
        when nothing of the kind is left."""
        if first:
            own_timer = [o for o in fair if o[2].agent == cut and o[2].kind == "timer"]
            if own_timer:
                return own_timer, cut, faulty_left
        others = [o for o in fair if o[2].agent != cut and o[2].kind != "timer"]
        faulty = [o for o in options if o[2].kind == "deliver" and o[2].agent != cut
                  and not leaves_fairly(self.model, o[2], o[3])] if faulty_left > 0 else []
        if faulty and (not others or self.rng.random() < 0.3):
            return faulty, cut, faulty_left - 1
        return (others, cut, faulty_left) if others else (fair, None, faulty_left)

    def look_for_cycles(self, world: World, fp: int, path: list[Action]) -> None:
        """A fair cycle (or stop) around ``world`` on which a liveness property false there never holds."""
        snap = self.model.snapshot(world)
        open_ = [p for p in self.live if not p.holds(snap)
                 and (p.id not in self.violated or len(path) < len(self.violated[p.id]))]
        if not open_:
            return
        parents: dict[int, tuple[int, Action]] = {}

        def route(to: int) -> list[Action]:
            actions: list[Action] = []
            while to in parents:
                to, action = parents[to]
                actions.append(action)
            return path + actions[::-1]

        def judge(succ: World, succ_fp: int, depth: int, parent: int, action: Action) -> None:
            parents[succ_fp] = (parent, action)
            self.judge(succ, succ_fp, len(path) + depth, partial(route, succ_fp))

        region = explore_region(self.model, world, fp, open_, self.task.bfs_states, judge, self.out_of_budget)
        self.transitions += len(region.graph.src)
        for p in open_:
            found = region_lasso(self.model, p, region, world)
            if found is None:
                continue
            actions, loop = found
            if p.id not in self.violated or len(path) + len(actions) < len(self.violated[p.id]):
                self.violated[p.id] = path + actions
                if loop is None:
                    self.cycles.pop(p.id, None)
                else:
                    self.cycles[p.id] = len(path) + loop

    def run(self) -> None:
        """Rounds of the three strategies in turn, starting with the task's own (so even a swarm of
        one or two searches uses all three), until the budget ends."""
        task = self.task
        first = STRATEGIES.index(task.strategy)
        own_bias = BIASES.index(task.bias)
        rounds = 0
        while not self.out_of_budget():
            strategy = STRATEGIES[(first + rounds) % len(STRATEGIES)]
            cycle = rounds // len(STRATEGIES)  # a small swarm still tries every bias and both quiesce modes
            self.bias = BIASES[(own_bias + cycle) % len(BIASES)]
            self.quiet = QUIESCE_MODES[cycle % len(QUIESCE_MODES)]
            rounds += 1
            if strategy == "walk":
                self.walk(task.walk_length)
                continue
            world, fp, path = self.walk(self.rng.randrange(task.walk_length + 1))
            if strategy == "prefix-bfs":
                self.bounded_bfs(world, fp, path)
            else:
                self.quiesce(world, fp, path)

    def report(self, seconds: float) -> TaskReport:
        fps = np.fromiter(self.seen, dtype=np.uint64, count=len(self.seen))
        fps.sort()
        return TaskReport(self.task.index, self.task.strategy, self.task.bias, fps.tobytes(), self.visited,
                          self.transitions, seconds, peak_rss(),
                          {k: [a.key() for a in v] for k, v in self.violated.items()},
                          {k: [a.key() for a in v] for k, v in self.reached.items()}, self.stopped,
                          dict(self.cycles))


def _kind_matches(model: ActorModel, bias: str, action: Action) -> bool:
    if bias == "timers-first":
        return action.kind == "timer"
    if action.kind != "deliver":
        return False
    if bias == "deliver-first":
        return True
    return action.detail.message.sender in model.byzantine  # injected-first


def run_task(model: ActorModel, properties: Sequence[Property], task: SwarmTask) -> TaskReport:
    started = time.perf_counter()
    searcher = _Searcher(model, [p for p in properties if p.applies(model.protocol)], task)
    searcher.run()
    return searcher.report(time.perf_counter() - started)


# ------------------------------------------------------------------ running the swarm
_FORKED: tuple[ActorModel, Sequence[Property]] | None = None


def _forked_task(task: SwarmTask) -> TaskReport:
    assert _FORKED is not None
    return run_task(_FORKED[0], _FORKED[1], task)


def _ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle


def _local(model: ActorModel, properties: Sequence[Property], tasks: list[SwarmTask], workers: int,
           wait: float) -> Iterator[TaskReport]:
    """Tasks in ``workers`` forked processes; the pool is terminated however the run ends."""
    global _FORKED
    _FORKED = (model, properties)
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_ignore_interrupts)
    try:
        pending = pool.imap_unordered(_forked_task, tasks)
        for _ in tasks:
            yield pending.next(timeout=wait)
    finally:
        pool.terminate()
        pool.join()
        _FORKED = None


def _on_ray(model: ActorModel, properties: Sequence[Property], tasks: list[SwarmTask], workers: int,
            address: str | None, wait: float) -> Iterator[TaskReport]:
    from .ray_search import ray_module

    ray = ray_module()
    started_ray = False
    if not ray.is_initialized():
        if address in (None, "local"):
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
            started_ray = True
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
    refs = [remote.remote(model.protocol, model.config, properties, task) for task in tasks]
    try:
        waiting = list(refs)
        deadline = time.monotonic() + wait
        while waiting:
            done, waiting = ray.wait(waiting, num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            if not done:
                raise TimeoutError
            yield ray.get(done[0])
    finally:
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        if started_ray:
            ray.shutdown()


def _ray_task(protocol: Any, config: Any, properties: Sequence[Property], task: SwarmTask) -> TaskReport:
    return run_task(ActorModel(protocol, config), properties, task)


def swarm_check(model: ActorModel, properties: Sequence[Property], *, searches: int, budget: float,
                workers: int = 1, ray: str | None = None, seed: int = 0,
                progress: Callable[[dict[str, Any]], None] | None = None) -> CheckResult:
    """``searches`` diversified searches within ``budget`` seconds of wall time on ``workers`` processes
    (or Ray CPUs), merged into one report (see the module docstring)."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < float("inf"):
        raise ConfigurationError(f"--budget must be a positive number of seconds, got {budget!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigurationError(f"workers must be a positive integer, got {workers!r}")
    waves = -(-searches // workers)
    memory = model.config.max_memory or MemoryWatch(None).budget
    stop = model.config.stop_on_violation
    tasks = swarm_tasks(searches, budget / waves, seed=seed, memory_budget=memory // workers, stop_on_violation=stop)
    started = time.perf_counter()
    reports: list[TaskReport] = []
    stopped = ""
    runner = _on_ray(model, properties, tasks, workers, ray, budget + 60) if ray is not None else \
        _local(model, properties, tasks, workers, budget + 60)
    try:
        for report in runner:
            reports.append(report)
            if stop and report.violated:
                stopped = "stopped at the first violation"
                break
            if progress is not None:
                progress({"searches_done": len(reports), "searches": searches,
                          "seconds": time.perf_counter() - started, "rss_bytes": current_rss()})
    except KeyboardInterrupt:
        stopped = "interrupted (Ctrl-C)"
    except TimeoutError:
        stopped = "a search did not return within its budget"
    finally:
        with contextlib.suppress(Exception):
            runner.close()  # type: ignore[attr-defined]
    return merge_reports(model, properties, reports, tasks, time.perf_counter() - started, stopped)



# ------------------------------------------------------------------ merging
def merge_reports(model: ActorModel, properties: Sequence[Property], reports: list[TaskReport],
                  tasks: list[SwarmTask], seconds: float, stopped: str = "") -> CheckResult:
    """Coverage and the shortest (minimised) finding per property over every task's report."""
    applicable = [p for p in properties if p.applies(model.protocol)]
    union = np.unique(np.concatenate([np.frombuffer(r.fingerprints, dtype=np.uint64) for r in reports])) \
        if reports else np.empty(0, dtype=np.uint64)
    visited = sum(r.visited for r in reports)
    stats = Stats(states_generated=sum(r.transitions for r in reports), distinct_states=int(union.size),
                  seconds=seconds, complete=False,
                  bound=f"swarm of {len(tasks)} searches, {len(reports)} reported"
                  + (f"; {stopped}" if stopped else ""))
    stats.peak_rss_bytes = max([r.rss for r in reports] + [peak_rss()])
    results: list[PropertyResult] = []
    for p in applicable:
        if p.kind is Kind.EVENTUALLY and not model.config.fair_links:
            results.append(PropertyResult(p, "not-checked", note=(
                "liveness assumes eventual delivery between correct agents; a drop budget breaks that fairness")))
            continue
        table = "reached" if p.kind is Kind.SOMETIMES else "violated"
        found = [(keys, r.cycles.get(pid)) for r in reports for pid, keys in getattr(r, table).items() if pid == p.id]
        if p.kind is Kind.EVENTUALLY:  # a stop judged on its last state alone may have passed a goal state
            found = [(keys, loop) for keys, loop in found if _fails(model, p, keys, loop) is not None]
        if not found:
            results.append(PropertyResult(p, "incomplete", note=(
                f"not reached by the swarm ({union.size:,} distinct states)" if table == "reached" else
                f"no state in the swarm's {union.size:,} where it fails and no fair action leaves; not a proof"
                if p.kind is Kind.EVENTUALLY else
                f"no violation in the swarm's {union.size:,} distinct states; not a proof")))
            continue
        shortest, loop = min(found, key=lambda keys_loop: len(keys_loop[0]))
        if table == "violated":
            trace = minimise(model, p, shortest, loop)
            stays = "" if p.kind is not Kind.EVENTUALLY else \
                "; it then stays in its last state forever (no fair action leaves it)" if loop is None else \
                f"; from step {trace.loop_start} it goes round a fair cycle forever"
            results.append(PropertyResult(p, "violated", trace, note=(
                f"found by the swarm in {len(shortest)} steps, minimised to {len(trace)}{stays}")))
        else:
            results.append(PropertyResult(p, "reached", replay_actions(model, shortest),
                                          note=f"witness found by the swarm ({len(shortest)} steps)"))
    per_task = [f"#{r.index} {r.strategy}/{r.bias}: {np.frombuffer(r.fingerprints, dtype=np.uint64).size:,} states"
                for r in sorted(reports, key=lambda r: r.index)]
    notes = [f"swarm: {len(reports)} of {len(tasks)} searches, {visited:,} states judged, {union.size:,} distinct "
             f"({union.size / seconds if seconds else 0:,.0f} distinct states/s)", *per_task[:12]]
    inapplicable = [PropertyResult(p, "not-checked", note="not applicable to this configuration")
                    for p in properties if not p.applies(model.protocol)]
    return CheckResult(results + inapplicable, stats, mode="swarm", notes=notes)


def _fails(model: ActorModel, p: Property, keys: list[list[str]], loop: int | None = None) -> int | None:
    """Replay ``keys``; the number of steps to the first state (or step) where ``p`` fails, or ``None``
    (a liveness property: all of them, if they are a weakly fair run, a lasso back to step ``loop``,
    on which it never holds)."""
    try:
        trace = replay_actions(model, keys)
    except ReplayError:
        return None
    if p.kind is Kind.EVENTUALLY:
        return len(keys) if lasso_fails(model, p, trace, loop) else None
    for i, step in enumerate(trace.steps):
        if p.kind is Kind.STEP:
            if i and not p.holds_on_step(model.snapshot(trace.steps[i - 1].world), step.action,
                                         model.snapshot(step.world)):
                return i
        elif not p.holds(model.snapshot(step.world)):
            return i
    return None


def minimise(model: ActorModel, p: Property, keys: list[list[str]], loop: int | None = None) -> Trace:
    """A shorter trace violating ``p``: delete steps while it still fails (for a lasso, steps
    before its cycle), then look for shortcuts around each remaining state with a small
    breadth-first search.

    Why one function with two loops: deletion and shortcut search alternate until neither
    shortens the trace, and both work on the same list of action keys.
    """
    end = _fails(model, p, keys, loop)
    assert end is not None, "a swarm finding must replay"
    keys = keys[:end]
    improved = True
    while improved:
        improved = False
        i = (len(keys) if loop is None else loop) - 1
        while i >= 0:
            shorter, shorter_loop = keys[:i] + keys[i + 1:], None if loop is None else loop - 1
            end = _fails(model, p, shorter, shorter_loop)
            if end is not None:
                keys, loop, improved = shorter[:end], shorter_loop, True
            i = min(i, len(keys) if loop is None else loop) - 1
        shortcut = _shortcut(model, p, keys) if p.kind is not Kind.EVENTUALLY else None
        if shortcut is not None and len(shortcut) < len(keys):
            keys, improved = shortcut, True
    trace = replay_actions(model, keys)
    trace.loop_start = loop
    return trace


def _shortcut(model: ActorModel, p: Property, keys: list[list[str]]) -> list[list[str]] | None:
    """From each state of the trace, a bounded search for a violation sooner than the trace's end."""
    trace = replay_actions(model, keys)
    for i, step in enumerate(trace.steps[:-1]):
        budget = len(keys) - i - 1  # steps the shortcut may take to beat the trace
        if budget <= 0:
            break
        start, start_fp = step.world, model.fingerprint(step.world)
        parents: dict[int, tuple[int, Action] | None] = {start_fp: None}
        queue: deque[tuple[World, int, int]] = deque([(start, start_fp, 0)])
        while queue and len(parents) < AROUND_STATES:
            world, fp, depth = queue.popleft()
            if depth >= budget:
                continue
            for succ, succ_fp, action, _fair in model.successors(world, fp):
                if succ_fp in parents:
                    continue
                parents[succ_fp] = (fp, action)
                bad = not p.holds_on_step(model.snapshot(world), action, model.snapshot(succ)) \
                    if p.kind is Kind.STEP else not p.holds(model.snapshot(succ))
                if bad:
                    suffix: list[list[str]] = []
                    cur: int = succ_fp
                    link = parents[cur]
                    while link is not None:
                        cur, act = link
                        suffix.append(act.key())
                        link = parents[cur]
                    return keys[:i] + suffix[::-1]
                queue.append((succ, succ_fp, depth + 1))
    return None
