"""A hierarchy node's state: an immutable value the checker fingerprints."""

from __future__ import annotations

import msgspec

from ...core import AgentId
from .messages import GroupVote


class HierState(msgspec.Struct, frozen=True, cache_hash=True):
    """One node's view. Members keep nothing; forwarders keep the first valid vote of each
    group member (sorted by sender) and what they certified; judges keep one certified
    entry per group: (group, value, sorted signers)."""

    role: str  # member | forwarder | judge
    votes: tuple[GroupVote, ...] = ()
    certified: str | None = None
    tally: tuple[tuple[str, str, tuple[AgentId, ...]], ...] = ()
    refused: frozenset[tuple[str, str]] = frozenset()
    decided: str | None = None

    def entry(self, group: str) -> tuple[str, str, tuple[AgentId, ...]] | None:
        for e in self.tally:
            if e[0] == group:
                return e
        return None
