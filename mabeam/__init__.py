"""mabeam: formally specified multi-agent coordination protocols.

What users need is importable from here: the protocol core (to write a
protocol), the model checker, the live drivers and network model, and the
session API (to run the shipped protocols). The layers behind it are
documented subpackages (see ``docs/architecture.md``): ``mabeam.core``,
``mabeam.protocols.<name>``, ``mabeam.checker``, ``mabeam.live``,
``mabeam.sim``, ``mabeam.runtime``, ``mabeam.attacks``, ``mabeam.api``,
``mabeam.lab`` and ``mabeam.cli``.
"""

from .api import registry
from .api.adaptive import AdaptiveResult, run_adaptive_coordination, run_adaptive_coordination_async
from .api.pipeline import (
    ConsensusLevel,
    GroupVoteLevel,
    PipelineReport,
    RefinementLevel,
    WeightedLevel,
    run_pipeline,
)
from .api.session import (
    SessionResult,
    run_protocol,
    run_protocol_async,
    start_byzantine_consensus,
    start_byzantine_consensus_async,
    start_majority_vote,
    start_weighted_vote,
)
from .api.verify import check_protocol
from .checker import ActorModel, CheckConfig, CheckResult, check, random_walks
from .core import (
    UNFAIR,
    AgentId,
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Decide,
    Defer,
    Effect,
    Envelope,
    Evidence,
    InsufficientReplicasError,
    MabeamError,
    MalformedMessageError,
    Membership,
    Message,
    Property,
    Protocol,
    Reject,
    Send,
    SetTimer,
    Snapshot,
    Step,
    always,
    always_step,
    choose,
    eventually,
    sometimes,
    withdraw,
)
from .core.adversary import Adversary
from .core.catalog import Mutant, ProtocolEntry, mutant
from .core.observer import ObservedStep, Observer, RunInfo
from .live import HonestStrategy, Latency, NetworkModel, Partition, PropertyViolation, RunResult, Strategy
from .runtime import AsyncRuntime, TcpTransport
from .sim import Simulator, simulate

__version__ = "0.1.0"

__all__ = [
    "ActorModel", "AdaptiveResult", "Adversary", "AgentId", "AsyncRuntime", "Broadcast", "CancelTimer", "CheckConfig",
    "CheckResult", "ConfigurationError", "ConsensusLevel", "Decide", "Defer", "Effect", "Envelope", "Evidence",
    "GroupVoteLevel", "HonestStrategy", "InsufficientReplicasError", "Latency", "MabeamError",
    "MalformedMessageError", "Membership", "Message", "Mutant", "NetworkModel", "ObservedStep", "Observer",
    "Partition", "PipelineReport", "Property", "PropertyViolation", "Protocol", "ProtocolEntry", "RefinementLevel",
    "Reject", "RunInfo", "RunResult", "Send", "SessionResult", "SetTimer", "Simulator", "Snapshot", "Step",
    "Strategy", "TcpTransport", "UNFAIR", "WeightedLevel", "__version__", "always", "always_step", "check",
    "check_protocol", "choose", "eventually", "mutant", "random_walks", "registry", "run_adaptive_coordination",
    "run_adaptive_coordination_async", "run_pipeline", "run_protocol", "run_protocol_async", "simulate", "sometimes",
    "start_byzantine_consensus", "start_byzantine_consensus_async", "start_majority_vote", "start_weighted_vote",
    "withdraw",
]
