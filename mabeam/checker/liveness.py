"""Liveness under weak fairness, decided on the explored transition graph.

A liveness property ``eventually P`` fails when some weakly fair run never
reaches a state where ``P`` holds: either it stops in a state where no fair
action is enabled (stuttering), or it cycles forever through states where ``P``
is false while every fairness class that stays enabled is taken (a fair cycle).
The counterexample is the shortest prefix to it plus the cycle (a lasso).

The graph arrives as compact arrays (one row per edge: source and target
fingerprints, fairness class or -1); states are numbered by their position in
the sorted fingerprint array, and the strongly connected components come from
SciPy's compiled graph routines, so graphs of millions of edges are decided
without Python-level adjacency lists.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, connected_components

from .model import Action

if TYPE_CHECKING:
    from .search import Graph

Path = list[tuple[Action | None, int]]


def liveness_bytes(edges: int, states: int) -> int:
    """About how much memory deciding liveness takes on top of the graph itself (measured: the
    index arrays, two sparse matrices and SciPy's work space)."""
    return edges * 160 + states * 64


def liveness_counterexample(states: np.ndarray, graph: Graph, root: int, goal: list[int] | np.ndarray
                            ) -> tuple[Path, int | None] | None:
    """A weakly fair path on which the goal never holds, or ``None``.

    ``states`` are all visited fingerprints, sorted; ``goal`` those where the goal holds.
    Returns the path as (action or None, fingerprint) pairs and the index where its
    cycle starts (``None`` for a run that stutters forever in its last state).
    """
    n = states.size
    index = {int(fp): i for i, fp in enumerate(states.tolist())} if n < 4096 else None
    src = _positions(states, np.frombuffer(graph.src, dtype=np.uint64), index)
    dst = _positions(states, np.frombuffer(graph.dst, dtype=np.uint64), index)
    cls = np.frombuffer(graph.cls, dtype=np.int32)
    in_goal = np.zeros(n, dtype=bool)
    in_goal[_positions(states, np.asarray(goal, dtype=np.uint64), index)] = True
    root_i = int(np.searchsorted(states, np.uint64(root)))
    if in_goal[root_i]:
        return None
    keep = ~in_goal[src] & ~in_goal[dst]
    sub_src, sub_dst, sub_cls = src[keep], dst[keep], cls[keep]
    adjacency = csr_matrix((np.ones(sub_src.size, dtype=np.int8), (sub_src, sub_dst)), shape=(n, n))
    order, preds = breadth_first_order(adjacency, root_i, directed=True, return_predecessors=True)
    fair_out = np.bincount(src[cls >= 0], minlength=n)
    stuck = order[fair_out[order] == 0]
    if stuck.size:  # BFS order: the shortest stuttering counterexample first
        return _prefix(states, graph, src, dst, cls, preds, int(stuck[0])), None
    found = _fair_component(n, order, sub_src, sub_dst, sub_cls, src, cls)
    if found is None:
        return None
    members, entry, required = found
    head = _prefix(states, graph, src, dst, cls, preds, entry)
    cycle = _fair_cycle(states, graph, src, dst, cls, members, entry, required)
    return head + cycle, len(head) - 1


def _positions(states: np.ndarray, fps: np.ndarray, index: dict[int, int] | None) -> np.ndarray:
    if index is not None:
        return np.fromiter((index[int(f)] for f in fps.tolist()), dtype=np.int64, count=fps.size)
    return np.searchsorted(states, fps)


def _prefix(states: np.ndarray, graph: Graph, src: np.ndarray, dst: np.ndarray, cls: np.ndarray,
            preds: np.ndarray, to: int) -> Path:
    """The BFS path from the root to state ``to`` as (action or None, fingerprint) pairs."""
    chain = [to]
    while preds[chain[-1]] >= 0:
        chain.append(int(preds[chain[-1]]))
    chain.reverse()
    path: Path = [(None, int(states[chain[0]]))]
    for a, b in itertools.pairwise(chain):
        path.append((_edge_action(graph, src, dst, cls, a, b), int(states[b])))
    return path


def _edge_action(graph: Graph, src: np.ndarray, dst: np.ndarray, cls: np.ndarray, a: int, b: int
                 ) -> Action | None:
    hits = np.nonzero((src == a) & (dst == b) & (cls >= 0))[0]
    return graph.actions[int(cls[hits[0]])] if hits.size else None


def _fair_component(n: int, order: np.ndarray, sub_src: np.ndarray, sub_dst: np.ndarray, sub_cls: np.ndarray,
                    src: np.ndarray, cls: np.ndarray) -> tuple[np.ndarray, int, set[int]] | None:
    """The first (in BFS order) strongly connected component of goal-free reachable states with a
    fair cycle: (its states, its entry state, the fairness classes enabled throughout it).

    Every component is judged at once, with array operations: a component is fair when it
    has an internal edge and every fairness class enabled in all its states is taken on one
    of its internal edges.
    """
    reachable = np.zeros(n, dtype=bool)
    reachable[order] = True
    inside = reachable[sub_src] & reachable[sub_dst]
    s, d, c = sub_src[inside], sub_dst[inside], sub_cls[inside]
    graph = csr_matrix((np.ones(s.size, dtype=np.int8), (s, d)), shape=(n, n))
    _count, labels = connected_components(graph, directed=True, connection="strong")
    width = int(labels.max()) + 1
    size = np.bincount(labels[order], minlength=width)
    internal = labels[s] == labels[d]
    looping = np.zeros(width, dtype=bool)
    looping[labels[s[internal]]] = True  # an internal edge: a cycle or a self-loop
    classes = int(cls.max()) + 2 if cls.size else 1
    fair_src = reachable[src] & (cls >= 0)
    state_class = np.unique(src[fair_src] * classes + cls[fair_src])  # (state, class) enabled pairs
    pair_label = labels[state_class // classes].astype(np.int64) * classes + state_class % classes
    pairs, counts = np.unique(pair_label, return_counts=True)
    required = pairs[counts == size[pairs // classes]]
    taken = np.unique(labels[s[internal & (c >= 0)]].astype(np.int64) * classes + c[internal & (c >= 0)])
    unfair = np.zeros(width, dtype=bool)
    unfair[required[~np.isin(required, taken)] // classes] = True
    fair = looping & ~unfair
    if not fair.any():
        return None
    rank = np.full(width, n, dtype=np.int64)
    np.minimum.at(rank, labels[order], np.arange(order.size))
    best = int(np.argmin(np.where(fair, rank, n)))
    members = np.nonzero((labels == best) & reachable)[0]
    entry = int(order[rank[best]])
    wanted = set((required[required // classes == best] % classes).tolist())
    return members, entry, wanted


def _fair_cycle(states: np.ndarray, graph: Graph, src: np.ndarray, dst: np.ndarray, cls: np.ndarray,
                members: np.ndarray, start: int, required: set[int]) -> Path:
    """A cycle from ``start`` inside the component that takes every required fairness class."""
    inside = set(members.tolist())
    in_component = np.isin(src, members) & np.isin(dst, members)
    edges: dict[int, list[tuple[int, int]]] = {}
    for a, b, k in zip(src[in_component].tolist(), dst[in_component].tolist(), cls[in_component].tolist()):
        edges.setdefault(a, []).append((k, b))

    def route(a: int, b: int) -> list[tuple[int, int]]:
        if a == b:
            return []
        back: dict[int, tuple[int, int]] = {}
        queue = deque([a])
        seen = {a}
        while queue:
            x = queue.popleft()
            for k, y in edges.get(x, ()):
                if y in inside and y not in seen:
                    seen.add(y)
                    back[y] = (k, x)
                    if y == b:
                        out = []
                        cur = y
                        while cur != a:
                            k2, prev = back[cur]
                            out.append((k2, cur))
                            cur = prev
                        out.reverse()
                        return out
                    queue.append(y)
        raise AssertionError("component is not strongly connected")

    cycle: list[tuple[int, int]] = []
    here = start
    for k in sorted(required):
        a, b = next((x, y) for x in sorted(edges) for kk, y in edges[x] if kk == k)
        cycle += route(here, a)
        cycle.append((k, b))
        here = b
    cycle += route(here, start)
    if not cycle:  # no required class: any edge that stays in the component
        k, b = next((kk, y) for kk, y in edges[start])
        cycle = [(k, b), *route(b, start)]
    return [(graph.actions.get(k) if k >= 0 else None, int(states[y])) for k, y in cycle]
