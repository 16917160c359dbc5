"""Telemetry for every coordination event, emitted as OpenTelemetry spans, span events and metrics.

:data:`EVENTS` declares the coordination events (session start and end, phase
transitions, proposals, votes counted, decisions, evidence, rejections by
reason, view changes, fallbacks with their cause, timeouts, catch-ups, faults).
:class:`TelemetryObserver` derives them from the drivers' observer hook
(:mod:`mabeam.core.observer`) and emits each one

- as a count in the ``mabeam.coordination.events`` counter (attribute ``event``),
  plus ``mabeam.rejections`` by reason, ``mabeam.decisions`` and the histograms
  ``mabeam.session.duration`` and ``mabeam.decision.time``: every event, always;
- as an **event** on the session's span (``mabeam.session``), with the driver's
  clock as ``mabeam.at`` (virtual seconds in the simulator), for the events that
  are milestones (``EventSpec.span_event``). The per-message events (proposals,
  votes counted, rejections) are O(n²) per session: they are counted, and their
  totals are set on the span when it ends (``mabeam.count.<event>``), but they are
  not span events. The SDK keeps 128 events per span by default; a large session
  has more milestones than that (set ``OTEL_SPAN_EVENT_COUNT_LIMIT``).

Only ``opentelemetry-api`` is required: without an SDK configured every call is
a no-op. Install the ``telemetry`` extra (``opentelemetry-sdk``) and set a
tracer and meter provider to export. Why there is no cost when disabled: the
observer is attached only when asked for (``observers=[TelemetryObserver()]`` on
any driver or session function, or :func:`enable` for every session the API
runs), and a driver with no observer attached makes no observer calls.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace

from ..core.choice import parse_choice
from ..core.effects import Evidence
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
from ..core.observer import START, ObservedStep, Observer, RunInfo

INSTRUMENTATION = "mabeam"


@dataclass(frozen=True)
class EventSpec:
    """One declared coordination event: its name, when it is emitted, its attributes, and whether it
    is also an event on the session's span (milestones) or only counted (per-message events)."""

    name: str
    when: str
    attributes: tuple[str, ...]
    span_event: bool = True


EVENTS: Mapping[str, EventSpec] = {e.name: e for e in (
    EventSpec("session.start", "a run starts (the span opens)",
              ("protocol", "driver", "agents", "byzantine", "seed")),
    EventSpec("session.end", "a run ends (the span closes)",
              ("status", "decided_value", "duration", "messages_sent")),
    EventSpec("phase.transition", "a node's phase changes (the protocol's phase_of)", ("agent", "from", "to")),
    EventSpec("proposal", "an agent puts a value forward: what it sends as it starts, or a primary's pre-prepare",
              ("agent", "message"), span_event=False),
    EventSpec("vote.counted", "a delivered message changed the receiving node's state (it was counted)",
              ("agent", "sender", "message"), span_event=False),
    EventSpec("decision", "an agent decides", ("agent", "value", "instance", "round")),
    EventSpec("evidence", "an agent holds transferable proof of misbehaviour", ("agent", "against", "kind")),
    EventSpec("rejection", "a message was refused, by the protocol or the driver", ("reason", "sender"),
              span_event=False),
    EventSpec("view.change", "a replica moves to a higher view", ("agent", "from", "to")),
    EventSpec("fallback", "an adaptive node falls back to the next stage, with the cause",
              ("agent", "from", "to", "cause")),
    EventSpec("timeout", "a timer of a node fires", ("agent", "timer")),
    EventSpec("catchup", "a node hands a lagging node a decision certificate, or adopts one",
              ("agent", "peer", "direction")),
    EventSpec("fault", "a crash, or a driver-level refusal such as impersonation", ("agent", "kind")),
)}


@dataclass(frozen=True)
class Hints:
    """What only a protocol knows: which message tags are proposals and catch-ups, where a state keeps
    its view and its adaptive stage. Protocols not listed get the generic rules."""

    proposal_tags: frozenset[str] = frozenset()
    catchup_tags: frozenset[str] = frozenset()
    view: Callable[[Any], int | None] = field(default=lambda state: None)
    stage: Callable[[Any], tuple[int, str] | None] = field(default=lambda state: None)


def _adaptive_stage(state: Any) -> tuple[int, str] | None:
    cause = state.log[-1].cause if getattr(state, "log", ()) else ""
    return state.stage, cause


HINTS: Mapping[str, Hints] = {
    "pbft": Hints(frozenset({"pbft.pre-prepare"}), frozenset({"pbft.decided"}),
                  view=lambda state: getattr(state, "view", None)),
    "adaptive": Hints(stage=_adaptive_stage),
}


def _tag(message: Message) -> str:
    return str(type(message).__struct_config__.tag or type(message).__name__)


def _value(value: Any) -> str | int | float | bool:
    return value if isinstance(value, (str, int, float, bool)) else repr(value)


class _Sent:
    """An effect sink that keeps the messages a step sends (and to whom)."""

    def __init__(self) -> None:
        self.sent: list[tuple[AgentId | None, Message]] = []

    def send(self, to: AgentId, message: Message) -> None:
        self.sent.append((to, message))

    def broadcast(self, message: Message, include_self: bool) -> None:
        self.sent.append((None, message))

    def set_timer(self, name: str, delay: float) -> None: ...

    def cancel_timer(self, name: str) -> None: ...

    def decide(self, value: Any, instance: Any) -> None: ...

    def evidence(self, evidence: Evidence) -> None: ...

    def reject(self, reason: str, message: Message | None) -> None: ...

    def defer(self, message: Message) -> None: ...


class TelemetryObserver(Observer):
    """Emits :data:`EVENTS` for one run through OpenTelemetry (one observer per run).

    ``tracer_provider`` / ``meter_provider`` default to the global ones. ``counts``
    tallies what was emitted by event name, whether or not an SDK is installed.
    """

    def __init__(self, tracer_provider: trace.TracerProvider | None = None,
                 meter_provider: metrics.MeterProvider | None = None) -> None:
        from .. import __version__

        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(INSTRUMENTATION, __version__)
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(INSTRUMENTATION, __version__)
        self._events = meter.create_counter("mabeam.coordination.events", unit="{event}",
                                            description="coordination events emitted, by event name")
        self._rejections = meter.create_counter("mabeam.rejections", unit="{message}",
                                                description="refused messages, by reason")
        self._decisions = meter.create_counter("mabeam.decisions", unit="{decision}", description="decisions taken")
        self._duration = meter.create_histogram("mabeam.session.duration", unit="s",
                                                description="session duration on the driver's clock")
        self._decision_time = meter.create_histogram("mabeam.decision.time", unit="s",
                                                     description="driver time at which each decision was taken")
        self.counts: Counter[str] = Counter()
        self._span: trace.Span | None = None
        self._base: dict[str, Any] = {}
        self._hints = Hints()

    # ------------------------------------------------------------ emission
    def emit(self, name: str, at: float | None = None, **attributes: Any) -> None:
        """One declared event: a span event, a counter increment and a tally."""
        spec = EVENTS.get(name)
        if spec is None:
            raise ValueError(f"undeclared telemetry event {name!r}")
        self.counts[name] += 1
        self._events.add(1, {**self._base, "event": name})
        if self._span is not None and spec.span_event:
            values = {f"mabeam.{k}": _value(v) for k, v in attributes.items() if v is not None}
            if at is not None:
                values["mabeam.at"] = float(at)
            self._span.add_event(f"mabeam.{name}", values)

    # ------------------------------------------------------------ the observer hook
    def on_run_start(self, run: RunInfo) -> None:
        protocol = run.protocol
        self._hints = HINTS.get(protocol.name, Hints())
        self._base = {"mabeam.protocol": protocol.name, "mabeam.driver": run.driver}
        self._span = self._tracer.start_span(
            "mabeam.session", attributes={**self._base, "mabeam.session": protocol.session,
                                          "mabeam.agents": protocol.n})
        self.emit("session.start", 0.0, protocol=protocol.name, driver=run.driver, agents=protocol.n,
                  byzantine=",".join(sorted(run.byzantine)), seed=None if run.seed is None else str(run.seed))

    def on_step(self, step: ObservedStep) -> None:
        sink = _Sent()
        interpret(step.effects, sink)
        agent, at, hints = step.agent, step.at, self._hints
        for to, message in sink.sent:
            tag = _tag(message)
            if step.kind == START or tag in hints.proposal_tags:
                self.emit("proposal", at, agent=agent, message=tag)
            if tag in hints.catchup_tags:
                self.emit("catchup", at, agent=agent, peer=to or "all", direction="sent")
        if step.byzantine:
            return
        if step.phase_changed and step.before is not None:
            self.emit("phase.transition", at, agent=agent, **{"from": step.protocol.phase_of(step.before),
                                                              "to": step.phase})
        if isinstance(step.detail, Message) and step.before is not None and step.after != step.before:
            tag = _tag(step.detail)
            self.emit("vote.counted", at, agent=agent, sender=step.detail.sender, message=tag)
            if tag in hints.catchup_tags:
                self.emit("catchup", at, agent=agent, peer=step.detail.sender, direction="adopted")
        if step.before is not None:
            self._transitions(step)

    def _transitions(self, step: ObservedStep) -> None:
        hints = self._hints
        old_view, new_view = hints.view(step.before), hints.view(step.after)
        if old_view is not None and new_view is not None and new_view > old_view:
            self.emit("view.change", step.at, agent=step.agent, **{"from": old_view, "to": new_view})
        old, new = hints.stage(step.before), hints.stage(step.after)
        if old is not None and new is not None and new[0] > old[0]:
            self.emit("fallback", step.at, agent=step.agent, cause=new[1], **{"from": old[0], "to": new[0]})

    def on_decision(self, agent: AgentId, value: Any, instance: Any, at: float, round: int) -> None:
        self.emit("decision", at, agent=agent, value=value, instance=instance, round=round)
        self._decisions.add(1, self._base)
        self._decision_time.record(float(at), self._base)

    def on_evidence(self, agent: AgentId, evidence: Evidence, at: float) -> None:
        self.emit("evidence", at, agent=agent, against=evidence.against, kind=evidence.kind)

    def on_rejection(self, reason: str, sender: AgentId | None, message: Message | None, at: float) -> None:
        self.emit("rejection", at, reason=reason, sender=sender)
        self._rejections.add(1, {**self._base, "reason": reason})

    def on_timer(self, agent: AgentId, name: str, action: str, at: float) -> None:
        if action == "fire" and parse_choice(name) is None:  # a choice is the node's own step, not a timeout
            self.emit("timeout", at, agent=agent, timer=name)

    def on_fault(self, agent: AgentId, kind: str, at: float) -> None:
        self.emit("fault", at, agent=agent, kind=kind)

    def on_run_end(self, outcome: Any) -> None:
        duration = float(getattr(outcome, "duration", 0.0) or 0.0)
        messages = getattr(getattr(outcome, "messages", None), "sent", None)
        status = str(getattr(outcome, "status", "ended"))
        self.emit("session.end", duration, status=status, decided_value=getattr(outcome, "decided_value", None),
                  duration=duration, messages_sent=messages)
        self._duration.record(duration, self._base)
        if self._span is not None:
            self._span.set_attribute("mabeam.status", status)
            for event, count in sorted(self.counts.items()):
                self._span.set_attribute(f"mabeam.count.{event}", count)
            if status == "violated":
                self._span.set_status(trace.StatusCode.ERROR, "a safety property was violated")
            self._span.end()
            self._span = None


# ------------------------------------------------------------------ global switch
_enabled: dict[str, Any] | None = None


def enable(tracer_provider: trace.TracerProvider | None = None,
           meter_provider: metrics.MeterProvider | None = None) -> None:
    """Attach a :class:`TelemetryObserver` to every session the API runs from now on."""
    global _enabled
    _enabled = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}


def disable() -> None:
    global _enabled
    _enabled = None


def active_observers() -> tuple[Observer, ...]:
    """A fresh observer when telemetry is enabled, else nothing (the drivers then pay nothing)."""
    return () if _enabled is None else (TelemetryObserver(**_enabled),)
