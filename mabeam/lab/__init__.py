"""The attack and partition laboratory: seeded PBFT runs under Byzantine agents and network splits.

:mod:`.scenarios` runs them; :mod:`.detection` says what honest agents could tell
from what they saw (accusations that carry verifiable evidence, suspicions that
do not) and turns each run into a report row.
"""

from .detection import Accusation, AttackReport, Suspicion, attack_report
from .scenarios import (
    ATTACK_PATTERNS,
    PARTITION_SCENARIOS,
    LabRun,
    PartitionReport,
    partition_report,
    run_attack_pattern,
    run_partition_scenario,
    run_pbft,
)

__all__ = [
    "ATTACK_PATTERNS",
    "PARTITION_SCENARIOS",
    "Accusation",
    "AttackReport",
    "LabRun",
    "PartitionReport",
    "Suspicion",
    "attack_report",
    "partition_report",
    "run_attack_pattern",
    "run_partition_scenario",
    "run_pbft",
]
