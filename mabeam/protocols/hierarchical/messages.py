"""Hierarchical messages: a member's signed group vote, the certificate a forwarder passes up, and the rule
that makes a certificate count.

A vote's signature binds (session, level, group, value, sender); a certificate
carries the signed votes themselves and no signature of its own, since its
authority comes from those votes, never from whoever relays it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import msgspec

from ...core import AgentId, Message
from ...core.auth import Authenticator

Value = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
#: the level whose groups this machine certifies (the judges form the level above it)
LOWER_LEVEL = 0


class GroupVote(Message, frozen=True, tag="hier.vote", forbid_unknown_fields=True):
    """A member's signed vote, bound to its session, level and group."""

    level: int
    group: str
    value: Value
    signature: bytes = b""


class GroupCertificate(Message, frozen=True, tag="hier.cert", forbid_unknown_fields=True):
    """A group's decision passed up: the stated value and the signed votes backing it.

    ``sender`` is only the relayer; it adds no authority, so it is not signed.
    """

    level: int
    group: str
    value: Value
    votes: tuple[GroupVote, ...]

    def describe(self) -> str:
        votes = ", ".join(f"{v.sender}:{v.value}" for v in self.votes)
        return f"GroupCertificate(level={self.level}, group={self.group!r}, value={self.value!r}, votes=[{votes}])"


class TopDecision(Message, frozen=True, tag="hier.decided", forbid_unknown_fields=True):
    """A judge tells the members below what the level above decided (live configurations only)."""

    value: Value


MESSAGE_TYPES: tuple[type[Message], ...] = (GroupVote, GroupCertificate, TopDecision)


def certificate_fault(cert: GroupCertificate, *, session: str, level: int, members: Sequence[AgentId],
                      quorum: int, auth: Authenticator,
                      matches: Callable[[GroupCertificate, GroupVote], bool] | None = None) -> str | None:
    """Why ``cert`` does not prove that ``quorum`` distinct ``members`` signed its value, or ``None``.

    The one rule every consumer of a group's output applies: the judges of this
    machine and each level of :mod:`mabeam.pipeline`.
    """
    if cert.session != session or cert.level != level:
        return "wrong-context"
    signers: set[AgentId] = set()
    for vote in cert.votes:
        if (vote.session != session or vote.level != level or vote.group != cert.group
                or vote.sender not in members):
            return "foreign-vote"
        if not (matches(cert, vote) if matches is not None else vote.value == cert.value):
            return "value-mismatch"
        if not auth.verify(vote):
            return "bad-signature"
        signers.add(vote.sender)
    if len(signers) < quorum:
        return "too-few-signers"
    return None
