"""Typed errors raised by mabeam.

Every error a caller can provoke with bad input derives from :class:`MabeamError`,
and configuration errors also derive from :class:`ValueError`, so callers may
catch either the precise type or the broad one.
"""

from __future__ import annotations


class MabeamError(Exception):
    """Base class for every error mabeam raises on purpose."""


class ConfigurationError(MabeamError, ValueError):
    """A protocol, group or driver was configured with values it cannot run with."""


class EmptyAgentPoolError(ConfigurationError):
    """A group needs at least one agent."""


class DuplicateAgentError(ConfigurationError):
    """An agent identity appears twice in one group."""


class InvalidWeightError(ConfigurationError):
    """A weight is negative, NaN, infinite, not a number, or all weights are zero."""


class InsufficientReplicasError(ConfigurationError):
    """The group is too small for the number of faults it must tolerate (e.g. n < 3f+1)."""


class UnknownAgentError(MabeamError, KeyError):
    """An agent identity that is not a member of the group was used."""

    def __str__(self) -> str:  # KeyError would repr() the message otherwise
        return str(self.args[0]) if self.args else "unknown agent"


class CredentialError(ConfigurationError):
    """Key or certificate material that is missing, malformed, mismatched or readable by others."""


class DerivedKeyError(CredentialError):
    """Signing keys derived from a public string (symbolic or seeded) were offered to a network runtime.

    Anyone who knows the string can sign as anyone, so such keys serve only the
    model checker, the simulator and in-process runs; pass the deployer's keys.
    """


class MessageTooLargeError(ConfigurationError):
    """A message this instance will send cannot fit the configured frame size (found at set-up)."""


class UnknownRoleError(MabeamError, KeyError):
    """A role that the group does not declare was asked for."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown role"


class MalformedMessageError(MabeamError, ValueError):
    """Bytes or a frame could not be decoded into a valid protocol message."""


class UnknownProtocolError(MabeamError, KeyError):
    """No protocol (or mutant) is registered under the requested name."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown protocol"


class UndeclaredTransitionError(MabeamError, RuntimeError):
    """A protocol took a phase transition its declared phase graph does not allow.

    This is a bug in the protocol (or a mutant), never a consequence of input.
    """


class ReplayError(MabeamError, ValueError):
    """A recorded trace no longer replays against the protocol code."""
