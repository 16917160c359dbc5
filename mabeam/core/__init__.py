"""The protocol core: identities, messages, effects, the node interface, properties."""

from .choice import Choice, choose, withdraw
from .effects import Broadcast, CancelTimer, Decide, Defer, Effect, Evidence, Reject, Send, SetTimer
from .errors import (
    ConfigurationError,
    DuplicateAgentError,
    EmptyAgentPoolError,
    InsufficientReplicasError,
    InvalidWeightError,
    MabeamError,
    MalformedMessageError,
    ReplayError,
    UndeclaredTransitionError,
    UnknownAgentError,
    UnknownProtocolError,
    UnknownRoleError,
)
from .identity import AgentId, Membership
from .messages import Message, MessageCodec, canonical_bytes
from .phases import PhaseGraph, PhaseTransition
from .properties import Decision, Kind, Property, Snapshot, always, eventually, sometimes
from .protocol import Envelope, Protocol, Step
from .rng import SeededRandom

__all__ = [
    "AgentId", "Broadcast", "CancelTimer", "Choice", "ConfigurationError", "Decide", "Decision", "Defer",
    "DuplicateAgentError", "Effect", "EmptyAgentPoolError", "Envelope", "Evidence",
    "InsufficientReplicasError", "InvalidWeightError", "Kind", "MabeamError", "MalformedMessageError",
    "Membership", "Message", "MessageCodec", "PhaseGraph", "PhaseTransition", "Property", "Protocol",
    "Reject", "ReplayError", "SeededRandom", "Send", "SetTimer", "Snapshot", "Step",
    "UndeclaredTransitionError", "UnknownAgentError", "UnknownProtocolError", "UnknownRoleError", "always",
    "canonical_bytes", "choose", "eventually", "sometimes", "withdraw",
]
