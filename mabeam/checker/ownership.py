"""Which worker owns which world in a partitioned search: a key that keeps most transitions local.

Hashing the whole world spreads states evenly but sends nearly every successor
to another worker, and a state with parents on several workers is built and
shipped by each of them. Most steps change one agent's component (and the
network); a key made of components that rarely change keeps those steps on the
worker that took them, where the level's own duplicate check catches them.
This is the locality-preserving partition of distributed model checkers (Lerda
and Sisto's, among others), chosen here from a short sample of the search:

* a breadth-first prefix (a few thousand states) is explored in this process;
* for each world position, the fraction of transitions that change it is counted;
* keys of one, two and three positions (among the least-changing and the best
  single ones) are scored by
  the expected cost of a level: one, plus the successors it would send away,
  plus the share of the level the coordinator would have to move between workers
  to even out the largest sampled level (work is rebalanced every level, see
  :func:`.parallel.coordinate`; a moved world's successors mostly go back to its
  owner); the whole-world fingerprint is always a candidate, and wins when no
  key does better.

Component fingerprints are content hashes (uniform 64-bit values), so the XOR of
a key's components modulo the number of workers is an even, process-independent
split of the key's values.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import combinations
from operator import xor

import numpy as np

from .model import ActorModel, World
from .reduction import Reduction

#: sampled states (and seconds) before a key is chosen
SAMPLE_STATES = 20_000
SAMPLE_SECONDS = 1.5
#: positions considered for a key (the least-changing ones)
CANDIDATES = 5
#: a key whose largest sampled share is beyond this is not considered (its owner would hold most states)
MAX_IMBALANCE = 1.6
#: moving a world to another worker to expand costs about this many sent successors (measured on TwoPhase)
MOVE_COST = 0.5
#: a sampled level needs this many states per worker to say anything about balance
LEVEL_FLOOR = 40


@dataclass(frozen=True)
class Ownership:
    """``positions``: the world positions whose XOR decides the owner (``None``: the world's fingerprint)."""

    workers: int
    positions: tuple[int, ...] | None = None
    estimate: str = ""  # what the sample predicted, for the report

    def owner(self, world: World, fp: int) -> int:
        if self.positions is None:
            return fp % self.workers
        return reduce(xor, (world[i] for i in self.positions)) % self.workers

    def owners(self, worlds: Sequence[World], fps: np.ndarray) -> np.ndarray:
        """The owner of each world, as an array."""
        if self.positions is None:
            return fps % np.uint64(self.workers)
        count = len(worlds)
        key = np.zeros(count, dtype=np.uint64)
        for i in self.positions:
            key ^= np.fromiter((w[i] for w in worlds), dtype=np.uint64, count=count)
        return key % np.uint64(self.workers)

    def describe(self, model: ActorModel) -> str:
        if self.positions is None:
            return "owner by world fingerprint"
        names = [position_name(model, i) for i in self.positions]
        return f"owner by {' ^ '.join(names)}" + (f" ({self.estimate})" if self.estimate else "")


def position_name(model: ActorModel, i: int) -> str:
    n = model.n
    if i < n:
        return f"state of {model.agents[i]}"
    return ("network", "facts", "faults")[i - n]


def choose_ownership(model: ActorModel, workers: int, reduction: Reduction | None = None, *,
                     sample_states: int = SAMPLE_STATES, sample_seconds: float = SAMPLE_SECONDS) -> Ownership:
    """The key with the cheapest predicted level on a sample of the search (see the module docstring)."""
    if workers == 1:
        return Ownership(1)
    levels, masks = _sample(model, reduction, sample_states, sample_seconds)
    usable = [lv for lv in levels if len(lv) >= LEVEL_FLOOR * workers][-3:]
    transitions = sum(masks.values())
    if not usable or not transitions:
        return Ownership(workers)
    width = len(levels[0][0][0])
    rate = [sum(c for m, c in masks.items() if m >> i & 1) / transitions for i in range(width)]
    away = (workers - 1) / workers
    level = usable[-1]
    columns = np.array([w for w, _fp in level], dtype=np.uint64).T
    level_fps = np.array([fp for _w, fp in level], dtype=np.uint64)
    w = np.uint64(workers)

    def changed(positions: tuple[int, ...]) -> float:
        """The fraction of sampled transitions that change any of ``positions``."""
        key = sum(1 << i for i in positions)
        return sum(c for m, c in masks.items() if m & key) / transitions

    def cost(positions: tuple[int, ...] | None) -> tuple[float, float, float]:
        if positions is None:
            owners = level_fps % w
        else:
            owners = np.bitwise_xor.reduce(columns[list(positions)], axis=0) % w
        imbalance = float(np.bincount(owners.astype(np.int64), minlength=workers).max()) / (len(level) / workers)
        sent = away if positions is None else away * changed(positions)
        moved = (imbalance - 1) / workers
        return 1 + sent + MOVE_COST * moved, imbalance, sent

    singles = sorted(range(width), key=lambda i: (cost((i,))[0], i))
    order = sorted(set(singles[:CANDIDATES]) | set(sorted(range(width), key=lambda i: (rate[i], i))[:CANDIDATES]))
    best: tuple[int, ...] | None = None
    best_cost, best_imbalance, best_sent = cost(None)
    for size in (1, 2, 3):
        for positions in combinations(order, size):
            total, imbalance, sent = cost(positions)
            if imbalance <= MAX_IMBALANCE and total < best_cost - 1e-9:
                best, best_cost, best_imbalance, best_sent = positions, total, imbalance, sent
    estimate = f"sampled: largest share {best_imbalance:.2f}x even, {best_sent:.0%} of successors sent away"
    return Ownership(workers, tuple(sorted(best)) if best else None, estimate)


def _sample(model: ActorModel, reduction: Reduction | None, max_states: int, max_seconds: float
            ) -> tuple[list[list[tuple[World, int]]], Counter[int]]:
    """A breadth-first prefix: its levels, and how many transitions changed each set of positions
    (a bit mask of positions -> transitions)."""
    canonical = reduction.canonical if reduction is not None and reduction.symmetry else None
    root = model.initial() if canonical is None else canonical(model.initial())
    root_fp = model.fingerprint(root)
    width = len(root)
    masks: Counter[int] = Counter()
    seen = {root_fp}
    level: list[tuple[World, int]] = [(root, root_fp)]
    levels = [level]
    deadline = time.monotonic() + max_seconds
    while level and len(seen) < max_states and time.monotonic() < deadline:
        nxt: list[tuple[World, int]] = []
        for world, fp in level:
            for succ, succ_fp, _action, _fair in model.successors(world, fp):
                if canonical is not None:
                    succ = canonical(succ)
                    succ_fp = model.fingerprint(succ)
                if succ_fp == fp:
                    continue
                masks[sum(1 << i for i in range(width) if succ[i] != world[i])] += 1
                if succ_fp not in seen:
                    seen.add(succ_fp)
                    nxt.append((succ, succ_fp))
        level = nxt
        if level:
            levels.append(level)
    return levels, masks
