"""The live property monitor shared by the simulator and the asyncio runtime.

The checker judges properties over every reachable state; a live run sees one
execution. The monitor evaluates the protocol's own property predicates on a
:class:`~mabeam.core.properties.Snapshot` of that execution whenever the driver
asks (after events that decide or report evidence, and at the end), and records
the first violation of each property with its stable ID, the time and the event.

``ALWAYS`` properties are checked at every check point; ``SOMETIMES`` goals are
marked reached the first time they hold; ``EVENTUALLY`` properties are judged
once, at the end, and only when the run reached quiescence over a fair network
(otherwise a finite prefix proves nothing about them). Live snapshots carry no
``in_flight`` messages: collecting them at every check would cost more than the
run; no property may rely on them to be monitored live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..core.effects import Evidence
from ..core.errors import ConfigurationError, MabeamError
from ..core.identity import AgentId
from ..core.observer import ObservedStep, Observer, RunInfo
from ..core.properties import Decision, Kind, Property, Snapshot, StatesBeforeStep
from ..core.protocol import Protocol

#: when safety properties are evaluated during a run (always also once at the end):
#: ``decision`` after every event that decides or reports evidence; ``instant`` once per
#: (virtual) instant with such events; ``sparse`` at the 1st, 2nd, 4th, 8th... such instant;
#: ``end`` only at the end; ``auto`` is ``decision`` up to 64 agents, ``sparse`` beyond.
CheckMode = Literal["auto", "decision", "instant", "sparse", "end"]
CHECK_MODES = ("auto", "decision", "instant", "sparse", "end")
AUTO_DECISION_LIMIT = 64


def resolve_check_mode(mode: str, agents: int) -> str:
    """The concrete check mode for a group of ``agents`` (``auto`` resolved)."""
    if mode not in CHECK_MODES:
        raise ConfigurationError(f"monitor must be one of {', '.join(CHECK_MODES)}; got {mode!r}")
    if mode == "auto":
        return "decision" if agents <= AUTO_DECISION_LIMIT else "sparse"
    return mode


class CheckSchedule:
    """Decides which decision-bearing points get a property check.

    Decisions and evidence only accumulate, so a violation of a property over them
    persists and a sparse schedule still catches it (later); only a violation that
    undoes itself between two checks can slip through, which ``decision`` mode rules out.
    Sparse checking keeps 500-agent runs fast: each check costs what the
    predicates cost on a whole snapshot, often O(n^2).
    """

    def __init__(self, mode: str, agents: int) -> None:
        self.mode = resolve_check_mode(mode, agents)
        self.points = 0

    @property
    def per_event(self) -> bool:
        return self.mode == "decision"

    def due(self) -> bool:
        """Called at each decision-bearing point; whether to check now."""
        if self.mode == "end":
            return False
        self.points += 1
        return self.mode != "sparse" or self.points & (self.points - 1) == 0


class PropertyViolation(MabeamError, AssertionError):
    """A monitored property was violated during a live run (raised only when asked to)."""

    def __init__(self, verdict: PropertyVerdict) -> None:
        super().__init__(f"{verdict.id} {verdict.name} violated at t={verdict.at:.6g} "
                         f"(event {verdict.event})")
        self.verdict = verdict


@dataclass
class PropertyVerdict:
    id: str
    name: str
    kind: str  # always | sometimes | eventually
    status: str = "holds"  # holds | violated | reached | unreached | not-checked
    checks: int = 0
    at: float | None = None  # time of the violation (or of first reaching a goal)
    event: int | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "status": self.status,
                "checks": self.checks, "at": self.at, "event": self.event, "note": self.note}


def properties_for(protocol: Protocol) -> tuple[Property, ...]:
    """The properties ``protocol`` declares (its class attribute ``properties``)."""
    return tuple(type(protocol).properties)


class LiveMonitor(Observer):
    """Evaluates properties on snapshots of a running execution and keeps verdicts.

    As an observer of a driver it checks when the schedule says (``mode``, see
    :data:`CheckMode`; plus every ``check_every`` events), after decisions or
    evidence; :meth:`check` and :meth:`finish` may also be called directly on
    snapshots assembled elsewhere (e.g. from several TCP nodes).
    """

    def __init__(self, protocol: Protocol, properties: Sequence[Property] | None = None, *,
                 byzantine: Iterable[AgentId] = (), raise_on_violation: bool = False,
                 mode: CheckMode = "auto", check_every: int | None = None) -> None:
        self.protocol = protocol
        self.schedule = CheckSchedule(mode, protocol.n)
        self.check_every = check_every
        self._marked = False  # a decision or evidence since the last check
        self._every_done = -1  # the event count of the last check_every check
        self._take_snapshot: Callable[[], Snapshot] | None = None
        self._take_view: Callable[[], Snapshot] | None = None
        declared = tuple(properties_for(protocol) if properties is None else properties)
        self.properties = tuple(p for p in declared if p.applies(protocol))
        self.byzantine = frozenset(byzantine)
        self.raise_on_violation = raise_on_violation
        self.verdicts = {
            p.id: PropertyVerdict(p.id, p.name, p.kind.value,
                                  "holds" if p.kind in (Kind.ALWAYS, Kind.STEP) else
                                  "unreached" if p.kind is Kind.SOMETIMES else "not-checked")
            for p in self.properties
        }
        self.verdicts.update({
            p.id: PropertyVerdict(p.id, p.name, p.kind.value, "not-checked",
                                  note="not applicable to this configuration")
            for p in declared if not p.applies(protocol)
        })
        self._pending = [p for p in self.properties if p.kind in (Kind.ALWAYS, Kind.SOMETIMES)]
        #: step properties, judged on each observed step of an honest node (see :meth:`on_step`)
        self._steps = [p for p in self.properties if p.kind is Kind.STEP]

    @property
    def watches_settling(self) -> bool:
        """Whether :meth:`on_settled` can ever check (not in ``end`` mode without ``check_every``)."""
        return self.schedule.mode != "end" or self.check_every is not None

    @property
    def watches_steps(self) -> bool:
        """Whether the driver must tell this monitor of every step (only when it judges step properties)."""
        return bool(self._steps)

    # ---------------------------------------------------------------- observer
    def on_run_start(self, run: RunInfo) -> None:
        self._take_snapshot = run.snapshot
        self._take_view = run.view or run.snapshot

    def on_decision(self, agent: AgentId, value: Any, instance: Any, at: float, round: int) -> None:
        self._marked = True

    def on_step(self, step: ObservedStep) -> None:
        """Judge the step properties on an honest node's step: the snapshot before it differs from the one
        after only in that node's state (the step itself stands for the checker's action: kind, agent,
        detail)."""
        if not self._steps or step.byzantine or step.before is None or step.before is step.after \
                or self._take_view is None:
            return
        after = self._take_view()  # judged at once, so the driver's live states need no copy
        before = Snapshot(after.protocol, StatesBeforeStep(after.states, step.agent, step.before), after.crashed,
                          after.byzantine, after.decisions, after.evidence)
        violated = []
        for p in self._steps:
            verdict = self.verdicts[p.id]
            verdict.checks += 1
            if not p.holds_on_step(before, step, after):
                violated.append(p)
                verdict.status, verdict.at = "violated", step.at
                if self.raise_on_violation:
                    raise PropertyViolation(verdict)
        if violated:  # a violated step property is settled: it is not judged again
            self._steps = [q for q in self._steps if q not in violated]

    def on_evidence(self, agent: AgentId, evidence: Evidence, at: float) -> None:
        self._marked = True

    def on_settled(self, at: float, events: int, instant_over: bool) -> None:
        if self._take_view is None:
            return
        if self._marked and (instant_over or self.schedule.per_event):
            self._marked = False
            if self.schedule.due():
                self.check(self._take_view(), at, events)  # judged at once: a view, not a copy
        if self.check_every is not None and events % self.check_every == 0 and events != self._every_done:
            self._every_done = events
            self.check(self._take_view(), at, events)

    def on_run_stopping(self, at: float, events: int, quiescent: bool, fair: bool) -> None:
        if self._take_snapshot is not None:
            self.finish(self._take_snapshot(), at, events, quiescent=quiescent, fair=fair)

    # ---------------------------------------------------------------- verdicts
    @property
    def violated(self) -> bool:
        return any(v.status == "violated" for v in self.verdicts.values())

    def snapshot(self, states: Mapping[AgentId, Any], crashed: Iterable[AgentId],
                 decisions: Iterable[Decision], evidence: Iterable[Any]) -> Snapshot:
        return Snapshot(protocol=self.protocol, states=dict(states), crashed=frozenset(crashed),
                        byzantine=self.byzantine, decisions=frozenset(decisions),
                        evidence=frozenset(evidence))

    def check(self, snapshot: Snapshot, at: float, event: int) -> None:
        """Evaluate safety invariants and unreached goals; violations are sticky and recorded once."""
        if not self._pending:
            return
        still: list[Property] = []
        violations: list[PropertyVerdict] = []
        for p in self._pending:
            verdict = self.verdicts[p.id]
            verdict.checks += 1
            holds = p.holds(snapshot)
            if p.kind is Kind.ALWAYS and not holds:
                verdict.status, verdict.at, verdict.event = "violated", at, event
                violations.append(verdict)
            elif p.kind is Kind.SOMETIMES and holds:
                verdict.status, verdict.at, verdict.event = "reached", at, event
            else:
                still.append(p)
        self._pending = still
        if violations and self.raise_on_violation:
            raise PropertyViolation(violations[0])

    def finish(self, snapshot: Snapshot, at: float, event: int, *, quiescent: bool, fair: bool) -> None:
        """The final check: safety once more, then liveness if the run can judge it."""
        self.check(snapshot, at, event)
        for p in self.properties:
            if p.kind is not Kind.EVENTUALLY:
                continue
            verdict = self.verdicts[p.id]
            if not quiescent:
                verdict.note = "the run stopped before quiescence; a finite prefix cannot refute liveness"
            elif not fair:
                verdict.note = "the network was not fair (lossy unreliable links or a permanent partition)"
            else:
                verdict.checks += 1
                verdict.at, verdict.event = at, event
                verdict.status = "holds" if p.holds(snapshot) else "violated"
                if verdict.status == "violated" and self.raise_on_violation:
                    raise PropertyViolation(verdict)

    def to_json(self) -> dict[str, dict[str, Any]]:
        return {pid: v.to_json() for pid, v in self.verdicts.items()}
