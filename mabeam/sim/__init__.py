"""The seeded discrete-event simulator and the run result shared with the asyncio runtime."""

from .result import DecisionRecord, EvidenceRecord, MessageStats, RunLedger, RunResult
from .simulator import Simulator, simulate
from .strategy import HonestStrategy, Strategy

__all__ = [
    "DecisionRecord", "EvidenceRecord", "HonestStrategy", "MessageStats", "RunLedger", "RunResult",
    "Simulator", "Strategy", "simulate",
]
