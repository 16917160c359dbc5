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

from typing import Any

from ...core.catalog import ProtocolEntry, SweepPoint
from . import config
from .adversary import AdaptiveAdversary
from .config import (
    ADVERSARIES,
    GUARANTEES,
    KINDS,
    Stage,
    StageSpec,
    build_stages,
    byzantine_quorum,
    demo_chain,
    majority_quorum,
    switch_quorum,
    weakest,
    weighted_quorum,
)
from .machine import DEADLINE_TIMER, AdaptiveCoordination, stage_timer
from .messages import MESSAGE_TYPES, Alarm, Commit, Decided, Lock, Switch, Vote
from .mutants import DEEP_MUTANTS, MUTANTS
from .properties import PROPERTIES
from .state import DECIDED, NO_DECISION, AdaptiveState, Outcome, Refusal, SwitchRecord

__all__ = ["ADVERSARIES", "DEADLINE_TIMER", "DECIDED", "DEEP_MUTANTS", "ENTRY", "GUARANTEES", "KINDS",
           "MESSAGE_TYPES", "MUTANTS",
           "NO_DECISION", "PROPERTIES", "AdaptiveAdversary", "AdaptiveCoordination", "AdaptiveState", "Alarm",
           "Commit", "Decided", "Lock", "Outcome", "Refusal", "Stage", "StageSpec", "Switch", "SwitchRecord",
           "Vote", "build", "build_stages", "byzantine_quorum", "checked", "crash_bound_configuration",
           "demo_chain", "evidence_configuration", "lock_order_configuration", "majority_quorum", "stage_timer",
           "switch_quorum", "weakest", "weighted_quorum"]


def build(agents: int, faulty: int = 0, cls: type[AdaptiveCoordination] = AdaptiveCoordination,
          **options: Any) -> AdaptiveCoordination:
    """:func:`.config.build` with the honest machine as the default class."""
    return config.build(agents, faulty, cls, **options)


def checked(agents: int, faulty: int) -> AdaptiveCoordination:
    """:func:`.config.checked` of the honest machine (the registry's factory)."""
    return config.checked(agents, faulty, AdaptiveCoordination)


def evidence_configuration(cls: type[AdaptiveCoordination] = AdaptiveCoordination, *,
                           allow_weaker_after_evidence: bool = False) -> AdaptiveCoordination:
    """:func:`.config.evidence_configuration` with the honest machine as the default class."""
    return config.evidence_configuration(cls, allow_weaker_after_evidence=allow_weaker_after_evidence)


def crash_bound_configuration(cls: type[AdaptiveCoordination] = AdaptiveCoordination) -> AdaptiveCoordination:
    """:func:`.config.crash_bound_configuration` with the honest machine as the default class."""
    return config.crash_bound_configuration(cls)


def lock_order_configuration(cls: type[AdaptiveCoordination] = AdaptiveCoordination) -> AdaptiveCoordination:
    """:func:`.config.lock_order_configuration` with the honest machine as the default class."""
    return config.lock_order_configuration(cls)


def three_stages(agents: int, faulty: int) -> AdaptiveCoordination:
    """Byzantine -> weighted -> majority with the override attack: lock ordering across three stages."""
    return config.build(agents, faulty, AdaptiveCoordination, kinds="bwm", adversary="override")


#: ``mabeam check adaptive --sweep``: two and three stages, with and without a Byzantine member, odd and even n
SWEEP = (
    SweepPoint("n=3 f=0: Byzantine -> weighted (the standard check)", 3, 0),
    # 976,940 states to depth 20 in about 85 s: given the time to close, so three stages are exhaustive
    SweepPoint("n=3 f=0: three stages b -> w -> m", 3, 0, three_stages, max_seconds=300.0,
               max_memory=5 * 2**30),
    SweepPoint("n=4 f=1: b -> w, Byzantine member, n=3f+1", 4, 1),
    SweepPoint("n=4 f=1: three stages, Byzantine member", 4, 1, three_stages),
    SweepPoint("n=5 f=1: b -> w, n=3f+2", 5, 1),
    # a Byzantine member that assembles locks from honest votes, where lock ordering matters (bounded: its
    # space is over 5.5M states at depth 10)
    SweepPoint("n=3, Byzantine weight 1/5: three weighted stages, Dolev-Yao", 3, 1,
               lambda agents, faulty: lock_order_configuration(), {"adversary": "dolev-yao"}),
)


ENTRY = ProtocolEntry(
    name="adaptive",
    summary="one session falling back Byzantine -> weighted -> majority on certified switches",
    fault_model="byzantine",
    factory=checked,
    properties=PROPERTIES,
    mutants=MUTANTS,
    deep_mutants=DEEP_MUTANTS,
    default_agents=3,
    default_faulty=0,
    check_defaults={"network": "duplicating", "intruder": True},
    sweep=SWEEP,
)
