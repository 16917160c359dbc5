"""The yardstick: a straightforward breadth-first search over the same successor function.

It is what one would write first: every visited :class:`World` kept whole in a
dict (state -> parent state), a deque as the queue, default Python settings
(the cyclic garbage collector stays on). It checks the same properties on every
state as :func:`mabeam.checker.check` does, so the two do the same work.
"""

from __future__ import annotations

import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mabeam.checker import ActorModel, World
from mabeam.core import Kind, Property

Progress = Callable[[int, float], None]  # (distinct states so far, seconds)


@dataclass
class BaselineResult:
    distinct_states: int
    states_generated: int
    depth: int
    seconds: float
    violated: dict[str, World] = field(default_factory=dict)  # property ID -> first violating state
    reached: set[str] = field(default_factory=set)


def bfs(model: ActorModel, properties: Sequence[Property], *, progress: Progress | None = None,
        keep: list[dict[World, World | None]] | None = None) -> BaselineResult:
    """Visit every reachable state; ``keep`` receives the visited dict (for memory measurement)."""
    safety = [p for p in properties if p.kind is Kind.ALWAYS]
    goals = [p for p in properties if p.kind is Kind.SOMETIMES]
    started = time.perf_counter()
    root = model.initial()
    parent: dict[World, World | None] = {root: None}
    queue: deque[tuple[World, int]] = deque([(root, 0)])
    result = BaselineResult(0, 1, 0, 0.0)
    while queue:
        world, depth = queue.popleft()
        result.depth = max(result.depth, depth)
        snap = model.snapshot(world)
        for p in safety:
            if p.id not in result.violated and not p.holds(snap):
                result.violated[p.id] = world
        for p in goals:
            if p.id not in result.reached and p.holds(snap):
                result.reached.add(p.id)
        for t in model.transitions(world):
            result.states_generated += 1
            if t.world not in parent:
                parent[t.world] = world
                queue.append((t.world, depth + 1))
                if progress is not None and len(parent) % 100_000 == 0:
                    progress(len(parent), time.perf_counter() - started)
    result.seconds = time.perf_counter() - started
    result.distinct_states = len(parent)
    if keep is not None:
        keep.append(parent)
    return result


def retained_bytes_per_state(make_model: Callable[[], ActorModel], properties: Sequence[Property]
                             ) -> tuple[float, int]:
    """Bytes the visited dict keeps alive per state, by tracemalloc, and the state count it was measured on.

    Everything allocated during the search and still live afterwards is owned by the
    dict: its table, the World keys and every tuple, frozenset and envelope they hold
    (shared sub-values are counted once, as they should be).
    """
    model = make_model()
    model.initial()  # warm caches so they are not charged to the states
    kept: list[dict[World, World | None]] = []
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = bfs(model, properties, keep=kept)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return (after - before) / result.distinct_states, result.distinct_states
