"""Weighted voting with exact thresholds, crash or Byzantine fault tolerant (spec: ``spec/weighted.md``).

Each agent's influence is an expertise weight fixed by the authenticated
configuration. A value is decided once its voters hold strictly more than
``threshold x total`` weight. Byzantine mode requires ``threshold >= 2/3`` and
faulty weight below 1/3: two deciding sets then overlap in more than 1/3 of the
weight, more than the faulty agents hold, so an honest agent (who votes once)
is in both.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry, SweepPoint
from . import config
from .adversary import WeightedAdversary
from .config import (
    BYZANTINE_FAULT_LIMIT,
    BYZANTINE_THRESHOLD,
    CRASH_THRESHOLD,
    Communication,
    Mode,
    demo_configuration,
    next_session,
    quorum_units,
    unit_scale,
)
from .linear import LinearState, LinearWeightedVoting
from .machine import WeightedVoting
from .messages import LINEAR_MESSAGE_TYPES, MESSAGE_TYPES, Certificate, SignedVote, Vote
from .mutants import MUTANTS
from .properties import PROPERTIES
from .state import PHASES, WeightedState, credit


def build(agents: int, faulty: int = 0, cls: type[WeightedVoting] = WeightedVoting,
          **options: Any) -> WeightedVoting:
    """:func:`.config.build` with the honest machine as the default class (the linear one for
    ``communication="linear"``)."""
    if cls is WeightedVoting and options.get("communication") == "linear":
        cls = LinearWeightedVoting
    return config.build(agents, faulty, cls, **options)


#: ``mabeam check weighted --sweep``: n = 3f+1 and 3f+2, odd and even n, f = 1 and 2
SWEEP = (
    SweepPoint("n=4 f=1: n=3f+1, even (the standard check)", 4, 1),
    SweepPoint("n=5 f=1: n=3f+2, odd", 5, 1),
    SweepPoint("n=6 f=1: even n", 6, 1),
    SweepPoint("n=7 f=2: f=2, n=3f+1", 7, 2),
    SweepPoint("n=8 f=2: f=2, n=3f+2", 8, 2),
    SweepPoint("n=3 f=0: crash mode, weighted majority", 3, 0, lambda n, f: build(n, f, mode="crash")),
    SweepPoint("n=4 f=1: linear communication (votes to a collector, a certificate back)", 4, 1,
               lambda n, f: build(n, f, communication="linear")),
)


ENTRY = ProtocolEntry(
    name="weighted",
    summary="weighted vote with exact thresholds; Byzantine-safe with > 2/3 of weight, faulty < 1/3",
    fault_model="byzantine",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=4,
    default_faulty=1,
    check_defaults={"network": "duplicating", "intruder": True},
    sweep=SWEEP,
)

__all__ = [
    "BYZANTINE_FAULT_LIMIT", "BYZANTINE_THRESHOLD", "CRASH_THRESHOLD", "Certificate", "Communication", "ENTRY",
    "LINEAR_MESSAGE_TYPES", "LinearState", "LinearWeightedVoting", "MESSAGE_TYPES", "MUTANTS", "PHASES",
    "PROPERTIES", "Mode", "SignedVote", "Vote", "WeightedAdversary", "WeightedState", "WeightedVoting", "build",
    "credit", "demo_configuration", "next_session", "quorum_units", "unit_scale",
]
