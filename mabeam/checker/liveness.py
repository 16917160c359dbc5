"""Liveness under weak fairness, decided on the explored transition graph.

A liveness property ``eventually P`` fails when some weakly fair run never
reaches a state where ``P`` holds: either it stops in a state where no fair
action is enabled (stuttering), or it cycles forever through states where ``P``
is false while every fair action that stays enabled is taken (a fair cycle).
The counterexample is the shortest prefix to it plus the cycle (a lasso).
"""

from __future__ import annotations

from collections import deque

import networkx as nx

from .model import Action

# edge list per expanded state: (fair action or None, successor fingerprint)
Graph = dict[int, list[tuple[Action | None, int]]]
Path = list[tuple[Action | None, int]]


def liveness_counterexample(graph: Graph, root: int, goal: set[int]) -> tuple[Path, int | None] | None:
    """A path on which the goal never holds and that is weakly fair, or ``None``.

    Weak fairness: an action (delivery to, or timer of, a correct agent) that
    stays enabled is eventually taken. A run may stutter forever only where no
    fair action is enabled; a cycle is fair iff every fair action enabled in all
    of its strongly connected component is taken inside it. Returns the path and
    the index where its cycle starts (``None`` for a stuttering end).
    """
    if root in goal:
        return None
    parent, order = _avoiding(graph, root, goal)
    for s in order:  # BFS order: shortest stuttering counterexample first
        if not any(a is not None for a, _ in graph.get(s, ())):
            return _prefix(parent, s), None
    found = _fair_component(graph, parent, order)
    if found is None:
        return None
    component, entry, required = found
    head = _prefix(parent, entry)
    return head + _fair_cycle(graph, component, entry, required), len(head) - 1


def _avoiding(graph: Graph, root: int, goal: set[int]
              ) -> tuple[dict[int, tuple[Action | None, int] | None], list[int]]:
    """Breadth-first over the states where the goal does not hold: (BFS parents, visit order)."""
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
    return parent, order


def _prefix(parent: dict[int, tuple[Action | None, int] | None], to: int) -> Path:
    path: Path = []
    cur: int | None = to
    while cur is not None:
        link = parent[cur]
        path.append((None if link is None else link[0], cur))
        cur = None if link is None else link[1]
    path.reverse()
    return path


def _fair_component(graph: Graph, parent: dict[int, tuple[Action | None, int] | None], order: list[int]
                    ) -> tuple[set[int], int, set[Action]] | None:
    """The first (in BFS order) strongly connected component of goal-free states with a fair cycle:
    (its states, its entry state, the fair actions enabled throughout it)."""
    sub = nx.DiGraph()
    sub.add_nodes_from(order)
    for s in order:
        for _action, t in graph[s]:
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
        if required <= taken:
            return component, min(component, key=rank.__getitem__), required
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
        edge, dst = next((a, t) for a, t in graph[start] if t in component)
        cycle = [(edge, dst), *route(dst, start)]
    return cycle
