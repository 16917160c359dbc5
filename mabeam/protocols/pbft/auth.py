"""PBFT's use of message authentication: equivocation evidence over signed messages.

The signing schemes themselves are protocol-independent and live in
:mod:`mabeam.core.auth`; they are re-exported here for PBFT's callers.
"""

from __future__ import annotations

from ...core import Evidence, Message
from ...core.auth import (
    Authenticator, Ed25519Authenticator, Signer, SymbolicAuthenticator, signing_bytes,
)
from .messages import Request

__all__ = ["Authenticator", "Ed25519Authenticator", "Signer", "SymbolicAuthenticator", "conflicting",
           "equivocation", "signing_bytes", "verify_evidence"]


# ----------------------------------------------------------------- evidence
def conflicting(first: Message, second: Message) -> bool:
    """Two messages one sender may not both sign: same kind, session and slot, different content."""
    if type(first) is not type(second) or first.sender != second.sender:
        return False
    if isinstance(first, Request):  # a client may send many requests
        return False
    if first.session != second.session:
        return False
    slot = ("view", "seq")
    if any(getattr(first, f, None) != getattr(second, f, None) for f in slot):
        return False
    return signing_bytes(first) != signing_bytes(second)


def equivocation(first: Message, second: Message) -> Evidence:
    """Evidence against the sender of two conflicting messages (ordered canonically)."""
    pair = tuple(sorted((first, second), key=lambda m: m.canonical()))
    return Evidence("equivocation", first.sender, pair)


def verify_evidence(evidence: Evidence, authenticator: Authenticator) -> bool:
    """Whether a third party holding only public verification keys should accept ``evidence``."""
    if evidence.kind != "equivocation" or len(evidence.proof) != 2:
        return False
    first, second = evidence.proof
    return (first.sender == evidence.against and conflicting(first, second)
            and authenticator.verify(first) and authenticator.verify(second))
