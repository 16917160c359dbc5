"""A fault-injection harness across OS processes, on loopback: kill -9, restarts, partitions, delays, spoofing.

Each node of a protocol runs in its own process over mutually authenticated
TLS (:mod:`.node`), through a loopback proxy per directed link (:mod:`.proxy`),
and logs its states, decisions, evidence and every message it sent
(:mod:`.log`). :func:`run_faults` applies a bounded, scheduled
:class:`FaultPlan` (:mod:`.harness`), sends a spoofing outsider at the nodes
(:mod:`.outsider`), and replays the merged logs through the protocol's own
safety properties (:mod:`.replay`). A node may run a registered mutant, which
the replay must catch. ``mabeam faults PROTOCOL`` is the command.
"""

from .harness import FaultPlan, FaultReport, default_plan, run_faults, run_faults_async
from .replay import Replay, replay

__all__ = ["FaultPlan", "FaultReport", "Replay", "default_plan", "replay", "run_faults", "run_faults_async"]
