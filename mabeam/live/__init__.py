"""What every live driver shares: the network model, the driver core, the property monitor,
deferral, the run result and the Byzantine strategy interface."""

from .deferral import DEFER_CAP, DeferredQueue
from .driver import LiveDriver
from .monitor import CHECK_MODES, CheckMode, LiveMonitor, PropertyVerdict, PropertyViolation
from .network import Latency, NetworkModel, Partition, Route
from .result import DecisionRecord, EvidenceRecord, MessageStats, RejectionRecord, RunLedger, RunResult
from .strategy import HonestStrategy, Strategy

__all__ = [
    "CHECK_MODES", "DEFER_CAP", "CheckMode", "DecisionRecord", "DeferredQueue", "EvidenceRecord", "HonestStrategy",
    "Latency", "LiveDriver", "LiveMonitor", "MessageStats", "NetworkModel", "Partition", "PropertyVerdict",
    "PropertyViolation", "RejectionRecord", "Route", "RunLedger", "RunResult", "Strategy",
]
