"""Hierarchical coordination: groups elect a decision passed up as one certified vote (spec: ``spec/hierarchical.md``).

Inside each group, members sign their vote bound to (session, level, group); a
forwarder holding ``q_g = (n_g + f_g) // 2 + 1`` matching signatures sends the
group certificate up; judges of the level above count one vote per group, only
with a valid certificate, and decide on ``T = (G + F) // 2 + 1`` group votes,
where ``F`` counts the groups with more than ``f_g`` faults. Multi-level
pipelines of real protocol runs are composed by :mod:`mabeam.pipeline`.
"""

from __future__ import annotations

from typing import Any

from ...core.catalog import ProtocolEntry, SweepPoint
from . import config
from .adversary import HierarchicalAdversary
from .config import Group, faults_above, group_quorum, make_group, placed_byzantine, upper_threshold
from .layouts import LAYOUTS, Layout, layout
from .machine import Hierarchical
from .messages import LOWER_LEVEL, MESSAGE_TYPES, GroupCertificate, GroupVote, TopDecision, certificate_fault
from .mutants import (
    MUTANTS,
    AcceptAlteredValue,
    ConsumeUncertified,
    CountEveryCertificate,
    DecideBelowThreshold,
    ThresholdFPlusOne,
    WaitForAllVotes,
    representative_accounting,
)
from .properties import PROPERTIES
from .state import HierState

__all__ = ["ENTRY", "LAYOUTS", "LOWER_LEVEL", "MESSAGE_TYPES", "MUTANTS", "PROPERTIES", "AcceptAlteredValue",
           "ConsumeUncertified", "CountEveryCertificate", "DecideBelowThreshold", "Group", "GroupCertificate",
           "GroupVote", "HierState", "Hierarchical", "HierarchicalAdversary", "Layout", "ThresholdFPlusOne",
           "TopDecision", "WaitForAllVotes", "build", "certificate_fault", "faults_above", "group_quorum",
           "layout", "make_group", "placed_byzantine", "representative_accounting", "upper_threshold"]


def build(agents: int = 12, faulty: int = 3, cls: type[Hierarchical] = Hierarchical, **options: Any) -> Hierarchical:
    """:func:`.config.build` with the standard layout and the honest machine as defaults."""
    return config.build(agents, faulty, cls, **options)


#: ``mabeam check hierarchical --sweep``: every checked layout (see :mod:`.layouts`)
SWEEP = (
    SweepPoint("12/3: Byzantine representative, over-bound group", 12, 3),
    SweepPoint("6/1: Byzantine representative, honest deputy", 6, 1),
    SweepPoint("9/2: over-bound group, Byzantine representative", 9, 2),
    SweepPoint("11/0: two 4-member groups, no faults, announce", 11, 0),
)


ENTRY = ProtocolEntry(
    name="hierarchical",
    summary="groups certify a decision (q_g signatures) passed up as one vote; judges decide on T group votes",
    fault_model="byzantine",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=12,
    default_faulty=3,
    check_defaults={"network": "duplicating", "intruder": True},
    faulty_agents=placed_byzantine,
    sweep=SWEEP,
)
