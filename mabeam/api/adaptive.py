"""Public API for adaptive coordination: one session that falls back Byzantine -> weighted -> majority.

:func:`run_adaptive_coordination` builds :class:`~mabeam.protocols.adaptive.AdaptiveCoordination`
from plain arguments, runs it in the seeded simulator or the live asyncio runtime
(with the live monitor checking every ADAPT safety property) and reports, per
stage, who entered, what was decided, how long it took and why each switch or
refusal happened. Timing comes from an observer of the driver
(:class:`StageTimings`: the simulator's virtual clock or the runtime's, at each
node transition); the protocol itself never sees a clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.auth import Ed25519Authenticator, SymbolicAuthenticator
from ..core.effects import Effect, Send
from ..core.errors import ConfigurationError
from ..core.identity import AgentId, Membership
from ..core.observer import ObservedStep, Observer
from ..live.network import NetworkModel
from ..live.result import RunResult
from ..live.strategy import Strategy
from ..protocols.adaptive import AdaptiveCoordination, AdaptiveState, StageSpec, Vote
from ..protocols.adaptive.state import DECIDED, NO_DECISION

Driver = Literal["simulator", "runtime"]
DEFAULT_CHAIN = ("byzantine", "weighted", "majority")


# ------------------------------------------------------------------- attacks
class Equivocator(Strategy):
    """A Byzantine member that signs two different first-stage votes: ``first`` to everyone and
    ``second`` to ``exposed`` members, who thereby hold equivocation evidence. Silent afterwards."""

    def __init__(self, agent: AgentId, protocol: AdaptiveCoordination, first: str, second: str,
                 exposed: Sequence[AgentId]) -> None:
        super().__init__(agent)
        if first == second:
            raise ConfigurationError("an equivocator needs two different values")
        self.protocol, self.first, self.second, self.exposed = protocol, first, second, tuple(exposed)

    def on_start(self) -> tuple[Effect, ...]:
        sign = self.protocol.signer(self.agent).sign
        p = self.protocol
        one = sign(Vote(session=p.session, sender=self.agent, stage=0, value=self.first))
        two = sign(Vote(session=p.session, sender=self.agent, stage=0, value=self.second))
        return tuple(Send(a, one) for a in p.membership.others(self.agent)) + tuple(
            Send(a, two) for a in self.exposed if a != self.agent)


# ------------------------------------------------------------------- timing
@dataclass(frozen=True)
class Transition:
    at: float
    agent: AgentId
    kind: str  # enter | decide | no-decision | refuse
    stage: int


class StageTimings(Observer):
    """A driver observer: when each honest node entered a stage, concluded, or refused a fallback."""

    def __init__(self) -> None:
        self.transitions: list[Transition] = []

    def on_step(self, step: ObservedStep) -> None:
        if step.byzantine:
            return
        before: AdaptiveState | None = step.before
        after: AdaptiveState = step.after
        record = self.transitions.append
        if before is None or after.stage != before.stage:
            record(Transition(step.at, step.agent, "enter", after.stage))
        if after.outcome is not None and (before is None or before.outcome is None):
            kind = "decide" if after.outcome.kind == DECIDED else "no-decision"
            record(Transition(step.at, step.agent, kind, after.outcome.stage))
        if before is not None and len(after.refusals) > len(before.refusals):
            record(Transition(step.at, step.agent, "refuse", after.stage))


# ------------------------------------------------------------------- results
@dataclass
class PhaseReport:
    """What one stage of the chain did in this run."""

    stage: int
    protocol: str
    guarantee: str
    entered: int  # honest nodes that reached the stage
    decided: int  # honest nodes that decided in it
    value: str | None
    started_at: float | None
    ended_at: float | None
    causes: dict[str, int]  # why nodes left it (the trigger kind), counted
    refusals: dict[str, int]

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def to_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "protocol": self.protocol, "guarantee": self.guarantee,
                "entered": self.entered, "decided": self.decided, "value": self.value,
                "started_at": self.started_at, "ended_at": self.ended_at, "duration": self.duration,
                "causes": dict(sorted(self.causes.items())), "refusals": dict(sorted(self.refusals.items()))}


@dataclass
class AdaptiveResult:
    """The outcome of one adaptive session."""

    status: str  # decided | no-decision | partial (some decided, some concluded undecided) | violated
    value: str | None
    protocol: str | None  # the stage kind whose quorum produced the value
    guarantee: str | None  # the weakest guarantee among the stages used
    decided_stage: int | None
    phases: list[PhaseReport]
    switches: list[dict[str, Any]]  # per honest node and switch: source, target, cause, certificate size, at
    refusals: list[dict[str, Any]]
    outcomes: dict[str, int]  # decided / no-decision / none, counted over correct honest nodes
    duration: float
    properties: dict[str, dict[str, Any]]
    run: RunResult = field(repr=False)

    @property
    def messages(self) -> dict[str, int]:
        return self.run.messages.to_json()

    def to_json(self, *, wall_clock: bool = False) -> dict[str, Any]:
        out = {"status": self.status, "value": self.value, "protocol": self.protocol,
               "guarantee": self.guarantee, "decided_stage": self.decided_stage,
               "phases": [p.to_json() for p in self.phases], "switches": self.switches,
               "refusals": self.refusals, "outcomes": self.outcomes, "duration": self.duration,
               "messages": self.messages, "properties": self.properties,
               "driver": self.run.driver, "seed": self.run.seed,
               "evidence": len(self.run.evidence), "crashed": list(self.run.crashed),
               "byzantine": list(self.run.byzantine)}
        if wall_clock:
            out["wall_seconds"] = self.run.wall_seconds
        return out


# ------------------------------------------------------------------- building
def build_chain(membership: Membership, chain: Sequence[str | StageSpec], *,
                weights: Mapping[AgentId, int] | None, byzantine_faults: int | None,
                crash_bound: int | None, shares: Sequence[float] | None) -> tuple[StageSpec, ...]:
    """StageSpecs from names, with defaults: f = (n-1)//3, faulty weight just under a third, crash
    bound (n-1)//2; ``shares[i]`` the fraction of the deadline stage i may use."""
    n = len(membership)
    if isinstance(chain, (str, StageSpec)) or not chain:
        raise ConfigurationError("chain must be a non-empty sequence of stage names or StageSpecs")
    if shares is not None and len(shares) != len(chain):
        raise ConfigurationError("give one share per stage")
    specs = []
    for i, stage in enumerate(chain):
        share = None if shares is None else shares[i]
        if isinstance(stage, StageSpec):
            specs.append(stage)
        elif stage == "byzantine":
            specs.append(StageSpec("byzantine", faulty=(n - 1) // 3 if byzantine_faults is None
                                   else byzantine_faults, share=share))
        elif stage == "weighted":
            w = dict(weights) if weights is not None else {a: 1 for a in membership}
            total = sum(v for v in w.values() if isinstance(v, int))
            specs.append(StageSpec("weighted", weights=w, faulty_weight=max(0, (total - 1) // 3), share=share))
        elif stage == "majority":
            specs.append(StageSpec("majority", crash_bound=(n - 1) // 2 if crash_bound is None else crash_bound,
                                   share=share))
        else:
            raise ConfigurationError(f"unknown stage {stage!r}; use byzantine, weighted or majority")
    return tuple(specs)


def run_adaptive_coordination(
        proposal_inputs: Mapping[AgentId, str], *, chain: Sequence[str | StageSpec] = DEFAULT_CHAIN,
        deadline: float = 5.0, shares: Sequence[float] | None = None,
        weights: Mapping[AgentId, int] | None = None, byzantine_faults: int | None = None,
        crash_bound: int | None = None, allow_weaker_after_evidence: bool = False,
        driver: Driver = "simulator", network: NetworkModel | None = None,
        crashes: Mapping[AgentId, float] | None = None,
        byzantine: Mapping[AgentId, Strategy | str] | None = None,
        equivocation: tuple[str, str] | None = None, exposed: Sequence[AgentId] | None = None,
        authentication: Literal["ed25519", "symbolic"] = "symbolic", seed: int | str = 0,
        session: str = "s0", observers: Sequence[Observer] = ()) -> AdaptiveResult:
    """Run one adaptive session and report what each phase decided, how, when and why it switched.

    ``proposal_inputs`` maps each agent to its proposal. ``crashes`` maps agents to the time they
    fail (gradual failures); ``byzantine`` maps agents to a :class:`Strategy` or ``"silent"`` /
    ``"equivocate"`` (votes ``equivocation[0]`` to all and ``equivocation[1]`` to ``exposed``).
    The run is bounded by the deadline: every honest node ends decided or with an explicit
    no-decision, so the result never waits beyond ``deadline`` (plus the final deliveries).
    ``observers`` watch the run (e.g. :class:`~mabeam.api.telemetry.TelemetryObserver`).
    """
    if driver not in ("simulator", "runtime"):
        raise ConfigurationError(f"driver must be 'simulator' or 'runtime', got {driver!r}")
    protocol, network, seed, deadline, options = _setup(
        proposal_inputs, chain=chain, deadline=deadline, shares=shares, weights=weights,
        byzantine_faults=byzantine_faults, crash_bound=crash_bound,
        allow_weaker_after_evidence=allow_weaker_after_evidence, network=network, crashes=crashes,
        byzantine=byzantine, equivocation=equivocation, exposed=exposed, authentication=authentication,
        seed=seed, session=session, observers=observers)
    if driver == "simulator":
        from ..sim.simulator import Simulator

        timings = StageTimings()
        watchers = [timings, *options.pop("observers")]
        sim = Simulator(protocol, network, seed=seed, until=deadline * 1.5 + 1.0, observers=watchers, **options)
        return _result(protocol, sim.run(), timings)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_run_live(protocol, network, seed, deadline, options))
    raise ConfigurationError("inside a running event loop, await run_adaptive_coordination_async(...) instead")


async def run_adaptive_coordination_async(proposal_inputs: Mapping[AgentId, str], **kwargs: Any) -> AdaptiveResult:
    """:func:`run_adaptive_coordination` on the live runtime, inside the caller's event loop."""
    if kwargs.pop("driver", "runtime") != "runtime":
        raise ConfigurationError("run_adaptive_coordination_async runs the live runtime only")
    protocol, network, seed, deadline, options = _setup(proposal_inputs, **kwargs)
    return await _run_live(protocol, network, seed, deadline, options)


async def _run_live(protocol: AdaptiveCoordination, network: NetworkModel | None, seed: int | str,
                    deadline: float, options: dict[str, Any]) -> AdaptiveResult:
    from ..runtime.runtime import AsyncRuntime

    timings = StageTimings()
    watchers = [timings, *options.pop("observers")]
    runtime = AsyncRuntime(protocol, network, seed=seed, timeout=deadline * 1.5 + 1.0, observers=watchers,
                           **options)
    return _result(protocol, await runtime.run(), timings)


def _setup(proposal_inputs: Mapping[AgentId, str], *, chain: Sequence[str | StageSpec] = DEFAULT_CHAIN,
           deadline: float = 5.0, shares: Sequence[float] | None = None,
           weights: Mapping[AgentId, int] | None = None, byzantine_faults: int | None = None,
           crash_bound: int | None = None, allow_weaker_after_evidence: bool = False,
           network: NetworkModel | None = None, crashes: Mapping[AgentId, float] | None = None,
           byzantine: Mapping[AgentId, Strategy | str] | None = None,
           equivocation: tuple[str, str] | None = None, exposed: Sequence[AgentId] | None = None,
           authentication: str = "symbolic", seed: int | str = 0, session: str = "s0",
           observers: Sequence[Observer] = ()
           ) -> tuple[AdaptiveCoordination, NetworkModel | None, int | str, float, dict[str, Any]]:
    """The protocol and the driver options of one session (shared by both runners)."""
    if not isinstance(proposal_inputs, Mapping) or not proposal_inputs:
        raise ConfigurationError("proposal_inputs must map at least one agent to its proposal")
    membership = Membership(proposal_inputs)
    specs = build_chain(membership, chain, weights=weights, byzantine_faults=byzantine_faults,
                        crash_bound=crash_bound, shares=shares)
    scheme = Ed25519Authenticator if authentication == "ed25519" else SymbolicAuthenticator
    if authentication not in ("ed25519", "symbolic"):
        raise ConfigurationError(f"authentication must be 'ed25519' or 'symbolic', got {authentication!r}")
    protocol = AdaptiveCoordination(membership, dict(proposal_inputs), specs, deadline=deadline,
                         allow_weaker_after_evidence=allow_weaker_after_evidence,
                         auth=scheme(membership.agents, seed=f"{session}/{seed}"), session=session)
    strategies = _strategies(protocol, byzantine or {}, equivocation, exposed)
    from .telemetry import active_observers

    options: dict[str, Any] = {"crashes": dict(crashes or {}), "byzantine": strategies,
                               "summarize": _summary, "observers": (*observers, *active_observers())}
    return protocol, network, seed, deadline, options


def _strategies(protocol: AdaptiveCoordination, byzantine: Mapping[AgentId, Strategy | str],
                equivocation: tuple[str, str] | None, exposed: Sequence[AgentId] | None) -> dict[AgentId, Strategy]:
    out: dict[AgentId, Strategy] = {}
    for agent, kind in byzantine.items():
        protocol.membership.require(agent)
        if isinstance(kind, Strategy):
            out[agent] = kind
        elif kind == "silent":
            out[agent] = Strategy(agent)
        elif kind == "equivocate":
            first, second = equivocation or (protocol.candidates[0], protocol.candidates[-1])
            out[agent] = Equivocator(agent, protocol, first, second,
                                     exposed if exposed is not None else protocol.agents)
        else:
            raise ConfigurationError(f"unknown Byzantine behaviour {kind!r}; use 'silent', 'equivocate' "
                                     "or a Strategy")
    return out


def _summary(states: Mapping[AgentId, Any]) -> dict[str, Any]:
    return {"final_states": dict(states)}


def _result(protocol: AdaptiveCoordination, run: RunResult, timings: StageTimings) -> AdaptiveResult:
    """The session's outcome over the correct honest agents, then one report per stage."""
    states: dict[AgentId, AdaptiveState] = run.extras.pop("final_states")
    honest = {a: s for a, s in states.items() if a not in run.byzantine and s is not None}
    correct = {a: s for a, s in honest.items() if a not in run.crashed}
    outcomes = Counter((s.outcome.kind if s.outcome is not None else "none") for s in correct.values())
    decided = [s.outcome for s in honest.values() if s.outcome is not None and s.outcome.kind == DECIDED]
    first = min(decided, key=lambda o: o.stage) if decided else None
    violated = bool(run.violations()) or len({o.value for o in decided}) > 1
    times = timings.transitions
    entry_time = {(t.agent, t.stage): t.at for t in times if t.kind == "enter"}
    switches = [{"agent": a, "source": r.source, "target": r.target, "cause": r.cause,
                 "certificate": len(r.certificate), "forced": r.forced, "evidence": r.evidence,
                 "at": entry_time.get((a, r.target))}
                for a, s in sorted(honest.items()) for r in s.log]
    refused = [{"agent": a, "source": r.source, "target": r.target, "reason": r.reason}
               for a, s in sorted(honest.items()) for r in s.refusals]
    return AdaptiveResult(
        status=_status(violated, bool(decided), outcomes.get(DECIDED, 0) == len(correct)),
        value=first.value if first and not violated else None,
        protocol=first.protocol if first else None, guarantee=first.guarantee if first else None,
        decided_stage=first.stage if first else None,
        phases=[_phase(stage, honest, decided, times) for stage in protocol.stages],
        switches=switches, refusals=refused,
        outcomes={k: outcomes.get(k, 0) for k in (DECIDED, NO_DECISION, "none")},
        duration=max((t.at for t in times), default=0.0), properties=run.properties, run=run)


def _status(violated: bool, someone_decided: bool, everyone_decided: bool) -> str:
    if violated:
        return "violated"
    if someone_decided:
        return "decided" if everyone_decided else "partial"
    return "no-decision"


def _phase(stage: Any, honest: Mapping[AgentId, AdaptiveState], decided: Sequence[Any],
           times: Sequence[Transition]) -> PhaseReport:
    """What one stage did: who entered, what it decided, when it started and ended, why nodes left."""
    enters = [t.at for t in times if t.kind == "enter" and t.stage == stage.index]
    leaves = [t.at for t in times if t.kind == "enter" and t.stage == stage.index + 1]
    ends = [t.at for t in times if t.kind in ("decide", "no-decision", "refuse") and t.stage == stage.index]
    here = [o for o in decided if o.stage == stage.index]
    causes = Counter(r.cause.split(":")[0] for s in honest.values() for r in s.log if r.source == stage.index)
    refusals = Counter(r.reason.split(" against")[0].split(":")[0] for s in honest.values()
                       for r in s.refusals if r.source == stage.index)
    return PhaseReport(
        stage.index, stage.kind, stage.guarantee,
        entered=sum(1 for s in honest.values() if s.stage >= stage.index), decided=len(here),
        value=here[0].value if here else None, started_at=min(enters) if enters else None,
        ended_at=max(leaves + ends) if (leaves or ends) else None, causes=dict(causes), refusals=dict(refusals))


def report(result: AdaptiveResult, title: str = "") -> str:
    """A human-readable account of the session: each phase, the switches and the monitored properties."""
    lines = [title] if title else []
    head = (f"status={result.status} value={result.value!r} protocol={result.protocol} "
            f"guarantee={result.guarantee} (stage {result.decided_stage})")
    lines.append("  " + head)
    lines.append(f"  outcomes over correct honest agents: {result.outcomes}; session took "
                 f"{result.duration:.3f} s ({result.run.driver}); messages sent "
                 f"{result.messages.get('sent', 0)}")
    for p in result.phases:
        if not p.entered:
            lines.append(f"  stage {p.stage} {p.protocol:<9} not reached")
            continue
        span = (f"{p.started_at:.3f}..{p.ended_at:.3f} s ({p.duration:.3f} s)"
                if p.duration is not None else "still open at the deadline")
        what = f"decided {p.value!r} at {p.decided} node(s)" if p.decided else "no decision here"
        lines.append(f"  stage {p.stage} {p.protocol:<9} [{p.guarantee}] entered by {p.entered}: {what}; {span}")
        if p.causes:
            lines.append(f"      left because: {', '.join(f'{k} x{v}' for k, v in sorted(p.causes.items()))}")
        if p.refusals:
            lines.append(f"      fallback refused: {', '.join(f'{k} x{v}' for k, v in sorted(p.refusals.items()))}")
    monitored = ", ".join(f"{pid}:{v['status']}" for pid, v in sorted(result.properties.items()))
    lines.append(f"  live monitor: {monitored}")
    return "\n".join(lines)
