"""From what a search saw to a verdict per property, with counterexample traces.

A safety property violated somewhere gets the shortest trace to its first
violating state; a reachability goal reached gets its witness; a liveness
property is decided on the transition graph under weak fairness, and only when
the search was complete and the links fair. A bounded search never claims
more than "no violation within the bound".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.properties import Kind, Property
from .liveness import liveness_counterexample
from .model import ActorModel
from .replay import replay_path
from .results import PropertyResult

if TYPE_CHECKING:
    from .search import Exploration


def not_applicable(properties: Sequence[Property]) -> list[PropertyResult]:
    return [PropertyResult(p, "not-checked", note="not applicable to this configuration") for p in properties]


def judge(model: ActorModel, properties: Sequence[Property], found: Exploration) -> list[PropertyResult]:
    """One result per property, in the order safety, reachability, liveness."""
    stats = found.stats
    store = found.store
    results: list[PropertyResult] = []
    for p in (p for p in properties if p.kind is Kind.ALWAYS):
        if p.id in found.violated:
            fp, level = found.violated[p.id]
            trace = replay_path(model, [(None, f) for f in store.path_to(fp, level)])
            results.append(PropertyResult(p, "violated", trace))
        else:
            note = "" if stats.complete else f"no violation within the bound ({stats.bound})"
            results.append(PropertyResult(p, "holds", note=note))
    for p in (p for p in properties if p.kind is Kind.SOMETIMES):
        if p.id in found.reached:
            fp, level = found.reached[p.id]
            trace = replay_path(model, [(None, f) for f in store.path_to(fp, level)])
            results.append(PropertyResult(p, "reached", trace, note="witness"))
        else:
            results.append(PropertyResult(p, "unreached", note="" if stats.complete else f"within {stats.bound}"))
    for p in (p for p in properties if p.kind is Kind.EVENTUALLY):
        results.append(_liveness(model, p, found))
    return results


def _liveness(model: ActorModel, p: Property, found: Exploration) -> PropertyResult:
    if not model.config.fair_links:
        return PropertyResult(p, "not-checked", note=(
            "liveness assumes eventual delivery between correct agents; a drop budget breaks that fairness"))
    if not found.stats.complete:
        return PropertyResult(p, "not-checked", note=f"search bounded by {found.stats.bound}")
    path = liveness_counterexample(found.graph, found.root, found.live_true[p.id])
    if path is None:
        return PropertyResult(p, "holds", note="under weak fairness")
    steps, loop_start = path
    trace = replay_path(model, steps)
    trace.loop_start = loop_start
    return PropertyResult(p, "violated", trace)
