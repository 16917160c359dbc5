"""Adaptive coordination: one session that falls back Byzantine -> weighted -> majority
(spec: ``spec/adaptive.md``).

Each stage is a two-phase signed vote; a node leaves a stage only with a
switch certificate whose quorum meets every decision quorum of that stage in
an honest member reporting its lock, so a value decided earlier is carried
forward and never overridden. Triggers (silence, split votes, time pressure)
are evaluated when a stage's timer fires; fallbacks whose precondition fails
are refused and logged; a deadline ends every undecided node with an explicit
no-decision.
"""

from __future__ import annotations

from ...core import AgentId, ConfigurationError, Membership
from ...core.catalog import Mutant, ProtocolEntry
from .config import GUARANTEES, KINDS, Stage, StageSpec, build_stages, switch_quorum, weakest
from .machine import DEADLINE_TIMER, AdaptiveCoordination, stage_timer
from .messages import Alarm, Commit, Decided, Lock, Switch, Vote
from .mutants import (
    ClaimFirstStage, DeadlineOverridesDecision, FallbackDespiteEvidence, IgnoreCrashBound, IgnoreLocks, NoDeadline,
    SmallerSwitchQuorum,
)
from .properties import PROPERTIES
from .state import DECIDED, NO_DECISION, AdaptiveState, Outcome, Refusal, SwitchRecord

__all__ = ["DEADLINE_TIMER", "DECIDED", "ENTRY", "GUARANTEES", "KINDS", "NO_DECISION", "PROPERTIES",
           "AdaptiveCoordination", "AdaptiveState", "Alarm", "Commit", "Decided", "Lock", "Outcome", "Refusal",
           "Stage", "StageSpec", "Switch", "SwitchRecord", "Vote", "build", "build_stages", "demo_chain",
           "checked", "crash_bound_configuration", "evidence_configuration", "stage_timer", "switch_quorum",
           "weakest"]


def demo_chain(agents: int, faulty: int, kinds: str = "bwm") -> tuple[StageSpec, ...]:
    """A chain over ``kinds`` (b: Byzantine, w: weighted, m: majority) for ``agents`` members whose
    last ``faulty`` are Byzantine. In the weighted stage the last honest member is the expert:
    it weighs 2(n-1)+1 and everyone else 1, exactly the quorum, so it decides that stage alone."""
    n = agents
    expert = n - faulty - 1
    weights = {a: (2 * (n - 1) + 1 if i == expert else 1) for i, a in enumerate(Membership.of_size(n).agents)}
    specs = {"b": StageSpec("byzantine", faulty=faulty),
             "w": StageSpec("weighted", weights=weights, faulty_weight=faulty),
             "m": StageSpec("majority", crash_bound=min(faulty, (n - 1) // 2))}
    try:
        return tuple(specs[k] for k in kinds)
    except KeyError:
        raise ConfigurationError(f"chain letters must be b, w or m, got {kinds!r}") from None


def build(agents: int, faulty: int = 0, cls: type[AdaptiveCoordination] = AdaptiveCoordination,
          kinds: str = "bwm", allow_weaker_after_evidence: bool = False,
          adversary: str = "full") -> AdaptiveCoordination:
    """The checked configuration: honest inputs x, ..., x, y (the last honest member dissents),
    so the first stage can decide x and a fallback can be pushed towards y."""
    if not isinstance(agents, int) or agents < 1 or not isinstance(faulty, int) or not 0 <= faulty < agents:
        raise ConfigurationError(f"need 0 <= faulty < agents, got agents={agents!r}, faulty={faulty!r}")
    names = Membership.of_size(agents).agents
    honest = agents - faulty
    inputs: dict[AgentId, str] = {a: ("x" if i < max(honest - 1, 1) else "y") for i, a in enumerate(names)}
    return cls(Membership(names), inputs, demo_chain(agents, faulty, kinds), deadline=10.0,
               allow_weaker_after_evidence=allow_weaker_after_evidence, adversary=adversary)


def _mutant(name: str, cls: type[AdaptiveCoordination], description: str, breaks: tuple[str, ...],
            size: tuple[int, int], kinds: str) -> Mutant:
    """A mutant checked at ``size`` = (agents, faulty) on the chain ``kinds``, the smallest
    configuration where its bug shows, so the whole state space is explored in seconds."""
    return Mutant("adaptive", name, description, breaks,
                  lambda n, f: build(n, f, cls, kinds, adversary="override"), {}, *size)


def evidence_configuration(cls: type[AdaptiveCoordination] = AdaptiveCoordination, *,
                           allow_weaker_after_evidence: bool = False) -> AdaptiveCoordination:
    """Two honest members and a Byzantine one (weights 2, 2, 1) on weighted -> majority: the
    Byzantine member equivocates, and an honest member alone holds the switch quorum to majority."""
    names = Membership.of_size(3).agents
    weights = dict(zip(names, (2, 2, 1)))
    chain = (StageSpec("weighted", weights=weights, faulty_weight=1), StageSpec("majority", crash_bound=0))
    return cls(Membership(names), dict(zip(names, ("x", "y", "y"))), chain, deadline=10.0,
               allow_weaker_after_evidence=allow_weaker_after_evidence, adversary="override")


def crash_bound_configuration(cls: type[AdaptiveCoordination] = AdaptiveCoordination) -> AdaptiveCoordination:
    """Two members, Byzantine -> majority with a declared crash bound of 1 = n/2: majority is barred."""
    names = Membership.of_size(2).agents
    chain = (StageSpec("byzantine"), StageSpec("majority", crash_bound=1))
    return cls(Membership(names), dict(zip(names, ("x", "y"))), chain, deadline=10.0)


MUTANTS = (
    _mutant("fallback-after-byzantine-decision", IgnoreLocks,
            "falls back without carrying the lock, so a fallback can override a Byzantine decision",
            ("ADAPT-S2",), (3, 0), "bw"),
    _mutant("smaller-switch-quorum", SmallerSwitchQuorum,
            "leaves a stage on one SWITCH vote fewer than the switch quorum", ("ADAPT-S5", "ADAPT-S2"),
            (3, 0), "bw"),
    Mutant("adaptive", "majority-despite-evidence",
           "falls back to crash-only majority while holding equivocation evidence", ("ADAPT-S3",),
           lambda n, f: evidence_configuration(FallbackDespiteEvidence), {}, 3, 1),
    Mutant("adaptive", "majority-despite-crash-bound",
           "falls back to majority although the declared crash bound is not below n/2", ("ADAPT-S3",),
           lambda n, f: crash_bound_configuration(IgnoreCrashBound), {}, 2, 0),
    _mutant("no-deadline", NoDeadline,
            "never arms the final deadline, so an undecided session hangs", ("ADAPT-L1",), (2, 0), "bm"),
    _mutant("decision-without-provenance", ClaimFirstStage,
            "attributes a fallback decision to the Byzantine stage and its guarantee", ("ADAPT-S4",),
            (2, 0), "bw"),
    _mutant("deadline-overrides-decision", DeadlineOverridesDecision,
            "the deadline rewrites an existing decision as a no-decision", ("ADAPT-S1",), (2, 0), "bw"),
)


def checked(agents: int, faulty: int) -> AdaptiveCoordination:
    """The standard check: Byzantine -> weighted, the override attack for any Byzantine member."""
    return build(agents, faulty, kinds="bw", adversary="override")


ENTRY = ProtocolEntry(
    name="adaptive",
    summary="one session falling back Byzantine -> weighted -> majority on certified switches",
    fault_model="byzantine",
    factory=checked,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=3,
    default_faulty=0,
    check_defaults={"network": "duplicating", "intruder": True},
)
