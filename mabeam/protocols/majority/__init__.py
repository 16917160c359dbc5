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

from ...core.catalog import ProtocolEntry
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
)

__all__ = [
    "ENTRY", "MESSAGE_TYPES", "MUTANTS", "PHASES", "PROPERTIES", "MajorityAdversary", "MajorityState",
    "MajorityVoting", "QuorumOffByOne", "Vote", "_QuorumOffByOne", "build", "crash_tolerance", "quorum",
    "split_inputs",
]
