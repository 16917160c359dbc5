"""Hierarchical coordination: groups elect a decision passed up as one certified vote (spec: ``spec/hierarchical.md``).

Inside each group, members sign their vote bound to (session, level, group); a
forwarder holding ``q_g = (n_g + f_g) // 2 + 1`` matching signatures sends the
group certificate up; judges of the level above count one vote per group, only
with a valid certificate, and decide on ``T = (G + F) // 2 + 1`` group votes,
where ``F`` counts the groups with more than ``f_g`` faults. Multi-level
pipelines of real protocol runs are composed by :mod:`mabeam.pipeline`.
"""

from __future__ import annotations

from ...core.catalog import Mutant, ProtocolEntry
from .config import Group, faults_above, group_quorum, make_group, upper_threshold
from .layouts import build, placed_byzantine
from .machine import GroupCertificate, GroupVote, HierState, Hierarchical, TopDecision
from .mutants import (
    AcceptAlteredValue, ConsumeUncertified, CountEveryCertificate, DecideBelowThreshold, ThresholdFPlusOne,
    WaitForAllVotes, representative_accounting,
)
from .properties import PROPERTIES

__all__ = ["ENTRY", "PROPERTIES", "Group", "GroupCertificate", "GroupVote", "HierState", "Hierarchical",
           "TopDecision", "build", "faults_above", "group_quorum", "make_group", "upper_threshold"]


def _mutant(name: str, cls: type[Hierarchical], description: str, breaks: tuple[str, ...],
            size: tuple[int, int] | None = None, **options: object) -> Mutant:
    agents, faulty = size if size else (None, None)
    return Mutant("hierarchical", name, description, breaks,
                  lambda a, f: build(a, f, cls, **options), {}, agents, faulty)  # type: ignore[arg-type]


#: the layouts mutants are checked on: small, so a misbehaving mutant still has a small state space
SMALL, OVER_BOUND = (6, 1), (9, 2)

MUTANTS = (
    _mutant("representative-alters-result", AcceptAlteredValue,
            "judges check a certificate's signatures but not that they sign its stated value, so a "
            "Byzantine representative passes a quorum for x up as y", ("HIER-S2",), SMALL),
    _mutant("threshold-f-plus-one", ThresholdFPlusOne,
            "a certificate needs f_g + 1 signatures instead of q_g = (n_g + f_g) // 2 + 1",
            ("HIER-S2", "HIER-S5"), SMALL),
    _mutant("faulty-group-counted-twice", CountEveryCertificate,
            "a group that certified two values (more than f_g faults) is counted for both", ("HIER-S4",),
            OVER_BOUND),
    _mutant("consume-uncertified-output", ConsumeUncertified,
            "a judge takes a member's bare signed vote as its group's output", ("HIER-S5", "HIER-S2"), SMALL),
    _mutant("decide-below-threshold", DecideBelowThreshold,
            "a judge decides on T - 1 certified group votes", ("HIER-S5",), SMALL),
    _mutant("faulty-group-counted-honest", Hierarchical,
            "fault accounting counts a group as faulty above only if its representative is Byzantine, so "
            "a group with 2 > f_g Byzantine members is counted honest and an upper level of 3 groups runs "
            "with T = 2 (the correct accounting refuses it: 3 < 3F + 1)", ("HIER-S3",), (8, 2),
            accounting=representative_accounting),
    _mutant("undersized-group-accepted", Hierarchical,
            "a group of 3 claiming f_g = 1 is not refused (n_g < 3 f_g + 1) and its votes are counted",
            ("HIER-S1",), (7, 1), check_size=False),
    _mutant("wait-for-all-votes", WaitForAllVotes,
            "a forwarder waits for all n_g votes, so a silent Byzantine member blocks its group",
            ("HIER-L1",), SMALL),
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
)
