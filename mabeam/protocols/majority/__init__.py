"""Simple majority voting, crash-fault tolerant (spec: ``spec/majority.md``).

Every agent broadcasts its input once. An agent decides value ``v`` as soon as
it has counted votes for ``v`` from a strict majority of the group (> n/2
distinct members, its own included). Two strict majorities always share a
member and a correct member votes once, so no two agents decide differently.
With up to ``f < n/2`` crashes, every correct agent decides whenever the
correct agents alone hold a majority for one value.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry, SweepPoint
from . import config
from .adversary import MajorityAdversary
from .config import crash_tolerance, quorum, split_inputs
from .machine import MajorityVoting
from .messages import MESSAGE_TYPES, Vote
from .mutants import MUTANTS, QuorumOffByOne
from .properties import PROPERTIES
from .state import PHASES, MajorityState

#: the name tests outside this package import the off-by-one mutant by
_QuorumOffByOne = QuorumOffByOne


def build(agents: int, faulty: int = 0, cls: type[MajorityVoting] = MajorityVoting,
          **options: Any) -> MajorityVoting:
    """:func:`.config.build` with the honest machine as the default class."""
    return config.build(agents, faulty, cls, **options)


#: ``mabeam check majority --sweep``: odd and even n, f = 1 and 2 (crash quorum n//2 + 1)
SWEEP = (
    SweepPoint("n=3 f=1: odd n (the standard check)", 3, 1),
    SweepPoint("n=4 f=1: even n, quorum 3 of 4", 4, 1, max_seconds=300.0),
    SweepPoint("n=5 f=1: odd n, n=3f+2", 5, 1),
    SweepPoint("n=5 f=2: f=2 at the bound f < n/2", 5, 2),
    SweepPoint("n=6 f=2: even n, f=2", 6, 2),
)


ENTRY = ProtocolEntry(
    name="majority",
    summary="simple majority vote, crash-fault tolerant (f < n/2)",
    fault_model="crash",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=3,
    default_faulty=1,
    check_defaults={"network": "multiset", "intruder": True},
    sweep=SWEEP,
)

__all__ = [
    "ENTRY", "MESSAGE_TYPES", "MUTANTS", "PHASES", "PROPERTIES", "MajorityAdversary", "MajorityState",
    "MajorityVoting", "QuorumOffByOne", "Vote", "_QuorumOffByOne", "build", "crash_tolerance", "quorum",
    "split_inputs",
]
