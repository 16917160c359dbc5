"""The three runs in which every declared telemetry event must appear (shared by the tests and the report).

A PBFT run with a view change (its primary equivocates, so some replicas decide
in view 0 and hand their certificates to the others, and another member forges
signatures), an adaptive run with fallbacks (gradual failures beyond the
Byzantine bound) and a weighted vote.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ...api.adaptive import run_adaptive_coordination
from ...api.session import start_byzantine_consensus, start_weighted_vote
from ...core.identity import Membership
from ...core.observer import Observer
from ...live.network import Latency, NetworkModel


def pbft_view_change(observers: Sequence[Observer]) -> Any:
    return start_byzantine_consensus(
        "deploy", 7, fault_tolerance=2, byzantine={"a0": "equivocating", "a6": "forging"},
        attack_options={"equivocating": {"fraction": 0.7, "overlap": 2}}, seed=1, observers=list(observers))


def adaptive_fallback(observers: Sequence[Observer]) -> Any:
    agents = Membership.of_size(50).agents
    weights = {a: (5 if i < 10 else 1) for i, a in enumerate(agents)}
    failing = [*agents[5:10], *agents[36:50]]
    return run_adaptive_coordination(
        {a: ("A" if i < 34 else "B") for i, a in enumerate(agents)}, weights=weights, deadline=3.0,
        network=NetworkModel(latency=Latency.uniform(0.005, 0.03)),
        crashes={a: round(0.0 if i < 17 else 1.1 + 0.05 * (i - 17), 3) for i, a in enumerate(failing)},
        observers=observers)


def weighted(observers: Sequence[Observer]) -> Any:
    return start_weighted_vote({"a0": "resnet", "a1": "vit", "a2": "vit", "a3": "vit"},
                               {"a0": 2, "a1": 2, "a2": 2, "a3": 1}, seed=0, observers=list(observers))


RUNS: dict[str, Callable[[Sequence[Observer]], Any]] = {
    "pbft-view-change": pbft_view_change, "adaptive-fallback": adaptive_fallback, "weighted": weighted}


def coverage() -> dict[str, set[str]]:
    """Per run, the declared events emitted: read back from the OpenTelemetry SDK's in-memory metric
    reader (the ``mabeam.coordination.events`` counter, by event) when the SDK is installed, else from
    the observer's own tally."""
    from ...api.telemetry import TelemetryObserver

    found: dict[str, set[str]] = {}
    for name, run in RUNS.items():
        try:
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        except ImportError:  # the SDK is an optional extra
            observer = TelemetryObserver()
            run([observer])
            found[name] = set(observer.counts)
            continue
        reader = InMemoryMetricReader()
        run([TelemetryObserver(meter_provider=MeterProvider(metric_readers=[reader]))])
        found[name] = events_counted(reader)
    return found


def events_counted(reader: Any) -> set[str]:
    """The ``event`` attribute of every data point of the ``mabeam.coordination.events`` counter."""
    data = reader.get_metrics_data()
    return {str(point.attributes["event"]) for resource in data.resource_metrics for scope in resource.scope_metrics
            for metric in scope.metrics if metric.name == "mabeam.coordination.events"
            for point in metric.data.data_points}
