"""The protocol core: identities, messages, effects, the node interface, properties."""

from .choice import Choice, choose, withdraw
from .effects import Broadcast, CancelTimer, Decide, Defer, Effect, Evidence, Reject, Send, SetTimer
from .errors import (
    ConfigurationError,
    CredentialError,
    DerivedKeyError,
    DuplicateAgentError,
    EmptyAgentPoolError,
    InsufficientReplicasError,
    InvalidWeightError,
    MabeamError,
    MalformedMessageError,
    MessageTooLargeError,
    ReplayError,
    UndeclaredTransitionError,
    UnknownAgentError,
    UnknownProtocolError,
    UnknownRoleError,
)
from .identity import AgentId, Membership
from .messages import Message, MessageCodec, canonical_bytes
from .phases import PhaseGraph, PhaseTransition
from .properties import Decision, Kind, Property, Snapshot, always, always_step, changed_agents, eventually, sometimes
from .protocol import UNFAIR, Envelope, Protocol, Step
from .rng import SeededRandom

__all__ = [
    "AgentId", "Broadcast", "CancelTimer", "Choice", "ConfigurationError", "CredentialError", "Decide", "Decision",
    "Defer", "DerivedKeyError", "DuplicateAgentError", "Effect", "EmptyAgentPoolError", "Envelope", "Evidence",
    "InsufficientReplicasError", "InvalidWeightError", "Kind", "MabeamError", "MalformedMessageError", "Membership",
    "Message", "MessageCodec", "MessageTooLargeError", "PhaseGraph", "PhaseTransition", "Property", "Protocol",
    "Reject", "ReplayError", "SeededRandom", "Send", "SetTimer", "Snapshot", "Step", "UNFAIR",
    "UndeclaredTransitionError", "UnknownAgentError", "UnknownProtocolError", "UnknownRoleError", "always",
    "always_step", "canonical_bytes", "changed_agents", "choose", "eventually", "sometimes", "withdraw",
]
