"""Telemetry: every declared coordination event reaches OpenTelemetry's in-memory exporters in the runs
that should emit it, milestones are span events, and nothing is attached unless asked for."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mabeam.api import telemetry
from mabeam.api.telemetry import EVENTS, TelemetryObserver
from mabeam.cli.validation.telemetry_runs import RUNS, events_counted

#: what each run must emit, beyond the session's start and end
EXPECTED = {
    "pbft-view-change": set(EVENTS) - {"fallback"},
    "adaptive-fallback": {"proposal", "vote.counted", "decision", "fallback", "timeout", "fault"},
    "weighted": {"proposal", "vote.counted", "decision", "phase.transition"},
}


class Exported:
    """One run's exporters: spans (with room for every milestone) and metrics."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer = TracerProvider(span_limits=SpanLimits(max_events=100_000, max_span_attributes=1_000))
        tracer.add_span_processor(SimpleSpanProcessor(self.spans))
        self.metrics = InMemoryMetricReader()
        self.observer = TelemetryObserver(tracer_provider=tracer,
                                          meter_provider=MeterProvider(metric_readers=[self.metrics]))

    def span_events(self) -> set[str]:
        return {e.name.removeprefix("mabeam.") for s in self.spans.get_finished_spans() for e in s.events}


@pytest.fixture(scope="module")
def exported() -> dict[str, tuple[Exported, Any]]:
    runs = {}
    for name, run in RUNS.items():
        sink = Exported()
        runs[name] = (sink, run([sink.observer]))
    return runs


def test_every_declared_event_is_emitted_across_the_three_runs(exported: dict[str, tuple[Exported, Any]]) -> None:
    counted = set().union(*(events_counted(sink.metrics) for sink, _ in exported.values()))
    assert counted == set(EVENTS)


@pytest.mark.parametrize("run", sorted(EXPECTED))
def test_each_run_emits_what_it_should(exported: dict[str, tuple[Exported, Any]], run: str) -> None:
    sink, _ = exported[run]
    counted = events_counted(sink.metrics)
    assert EXPECTED[run] | {"session.start", "session.end"} <= counted, sorted(EXPECTED[run] - counted)
    milestones = {name for name in counted if EVENTS[name].span_event}
    assert sink.span_events() == milestones  # every milestone is also an event on the session span


def test_the_runs_are_what_they_claim(exported: dict[str, tuple[Exported, Any]]) -> None:
    pbft = exported["pbft-view-change"][1]
    assert pbft.status == "decided" and pbft.extras["view_changes"] >= 1 and pbft.evidence
    adaptive = exported["adaptive-fallback"][1]
    assert adaptive.switches and adaptive.status in ("decided", "partial")


def test_the_session_span_carries_the_outcome_and_the_per_message_totals(
        exported: dict[str, tuple[Exported, Any]]) -> None:
    sink, result = exported["weighted"]
    (span,) = sink.spans.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "mabeam.session" and attributes["mabeam.protocol"] == "weighted"
    assert attributes["mabeam.status"] == "decided" and attributes["mabeam.count.decision"] == 4
    assert attributes["mabeam.count.vote.counted"] == sink.observer.counts["vote.counted"] > 0
    decisions = [e for e in span.events if e.name == "mabeam.decision"]
    assert len(decisions) == 4 and {e.attributes["mabeam.value"] for e in decisions} == {result.decided_value}


def test_rejections_are_counted_by_reason(exported: dict[str, tuple[Exported, Any]]) -> None:
    sink, result = exported["pbft-view-change"]
    data = sink.metrics.get_metrics_data()
    reasons = {point.attributes["reason"]: point.value for r in data.resource_metrics for s in r.scope_metrics
               for m in s.metrics if m.name == "mabeam.rejections" for point in m.data.data_points}
    assert reasons == {k: v for k, v in result.rejected.items() if v}


def test_nothing_is_attached_unless_asked() -> None:
    telemetry.disable()
    assert telemetry.active_observers() == ()


def test_enable_attaches_an_observer_to_every_session(monkeypatch: pytest.MonkeyPatch) -> None:
    from mabeam import start_majority_vote

    seen: list[TelemetryObserver] = []
    real = telemetry.TelemetryObserver

    def spy(**kwargs: Any) -> TelemetryObserver:
        seen.append(real(**kwargs))
        return seen[-1]

    monkeypatch.setattr(telemetry, "TelemetryObserver", spy)
    telemetry.enable()
    try:
        start_majority_vote({"a0": "x", "a1": "x", "a2": "y"})
    finally:
        telemetry.disable()
    assert len(seen) == 1 and seen[0].counts["session.start"] == 1 and seen[0].counts["decision"] == 3


def test_an_undeclared_event_is_refused() -> None:
    with pytest.raises(ValueError, match="undeclared"):
        TelemetryObserver().emit("made.up")
