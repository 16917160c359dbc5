"""From what a search saw to a verdict per property, with counterexample traces.

A safety property violated somewhere gets the shortest trace to its first
violating state; a reachability goal reached gets its witness; a liveness
property is decided on the transition graph under weak fairness, and only when
the search was complete and the links fair. A bounded search never claims
more than "no violation within the bound".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..core.properties import Kind, Property
from .liveness import liveness_bytes, liveness_counterexample
from .memory import current_rss
from .model import ActorModel
from .replay import replay_path
from .results import PropertyResult

if TYPE_CHECKING:
    from .reduction import Reduction
    from .search import Exploration


def not_applicable(properties: Sequence[Property]) -> list[PropertyResult]:
    return [PropertyResult(p, "not-checked", note="not applicable to this configuration") for p in properties]


def judge(model: ActorModel, properties: Sequence[Property], found: Exploration,
          reduction: Reduction | None = None) -> list[PropertyResult]:
    """One result per property, in the order safety, steps, reachability, liveness.

    A safety or step property with no violation in a bounded search is ``incomplete``
    (no violation found so far), never ``holds``.
    """
    stats = found.stats
    store = found.store
    canonical = reduction.canonical if reduction is not None and reduction.symmetry else None
    results: list[PropertyResult] = []
    for p in (p for p in properties if p.kind is Kind.ALWAYS):
        if p.id in found.violated:
            fp, level = found.violated[p.id]
            trace = replay_path(model, [(None, f) for f in store.path_to(fp, level)], canonical)
            results.append(PropertyResult(p, "violated", trace))
        else:
            results.append(_no_violation(p, stats))
    for p in (p for p in properties if p.kind is Kind.STEP):
        if p.id in found.violated_steps:
            src, level, action, dst = found.violated_steps[p.id]
            path = [(None, f) for f in store.path_to(src, level)] + [(action, dst)]
            results.append(PropertyResult(p, "violated", replay_path(model, path, canonical)))
        else:
            results.append(_no_violation(p, stats))
    for p in (p for p in properties if p.kind is Kind.SOMETIMES):
        if p.id in found.reached:
            fp, level = found.reached[p.id]
            trace = replay_path(model, [(None, f) for f in store.path_to(fp, level)], canonical)
            results.append(PropertyResult(p, "reached", trace, note="witness"))
        else:
            results.append(PropertyResult(p, "unreached") if stats.complete else PropertyResult(
                p, "incomplete", note=f"not reached so far; search bounded by {stats.bound}"))
    for p in (p for p in properties if p.kind is Kind.EVENTUALLY):
        results.append(_liveness(model, p, found, reduction))
    return results


def _no_violation(p: Property, stats: Any) -> PropertyResult:
    if stats.complete:
        return PropertyResult(p, "holds")
    return PropertyResult(p, "incomplete", note=f"no violation found so far; search bounded by {stats.bound}")


def _liveness(model: ActorModel, p: Property, found: Exploration, reduction: Reduction | None) -> PropertyResult:
    if not model.config.fair_links:
        return PropertyResult(p, "not-checked", note=(
            "liveness assumes eventual delivery between correct agents; a drop budget breaks that fairness"))
    if reduction is not None and not reduction.judges_liveness:
        return PropertyResult(p, "not-checked", note=reduction.liveness_note())
    if not found.stats.complete:
        return PropertyResult(p, "incomplete", note=f"search bounded by {found.stats.bound}")
    assert found.graph is not None
    need = liveness_bytes(len(found.graph.src), len(found.store))
    if current_rss() + need > found.memory_budget:
        return PropertyResult(p, "incomplete", note=(
            f"deciding liveness on {len(found.graph.src):,} edges needs about {need / 2**30:.1f} GiB more than the "
            f"memory budget allows ({found.memory_budget / 2**30:.1f} GiB); raise --max-memory"))
    path = liveness_counterexample(found.store.sorted_fingerprints, found.graph, found.root,
                                   found.live_true[p.id])
    if path is None:
        return PropertyResult(p, "holds", note="under weak fairness")
    steps, loop_start = path
    trace = replay_path(model, steps)
    trace.loop_start = loop_start
    return PropertyResult(p, "violated", trace)
