"""PBFT's evidence rules: when two signed messages of one sender convict it, and how anyone checks that.

The signing schemes are protocol-independent and live in :mod:`mabeam.core.auth`.
A sender may sign at most one message per (kind, session, view, seq), except client
requests and vote bundles (which relay others' votes); two that differ are
transferable proof of equivocation, which a third party holding only
public verification keys can check for itself.
"""

from __future__ import annotations

from ...core import Evidence, Message
from ...core.auth import Authenticator, signing_bytes
from .messages import Request, VoteBundle


def conflicting(first: Message, second: Message) -> bool:
    """Two messages one sender may not both sign: same kind, session and slot, different content."""
    if type(first) is not type(second) or first.sender != second.sender:
        return False
    if isinstance(first, (Request, VoteBundle)):  # a client may send many requests; a bundle only relays
        return False  # others' votes (a primary sends one per phase), it claims nothing of its own
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
