"""A majority voter's node state and its phase graph."""

from __future__ import annotations

import msgspec

from ...core import PhaseGraph, PhaseTransition

PHASES = PhaseGraph(
    "majority", ["voting", "decided"], "voting",
    [PhaseTransition("quorum", "voting", "decided", "votes for v from > n/2 members")],
)


class MajorityState(msgspec.Struct, frozen=True):
    """One agent's view. ``votes[i]`` is the counted vote of member ``i`` (``None``: none yet);
    ``support`` keeps the count per value so a step costs O(1) in the group size."""

    phase: str
    votes: tuple[str | None, ...]
    support: tuple[tuple[str, int], ...]  # (value, counted votes), sorted by value
    decided: str | None = None

    def support_for(self, value: str) -> int:
        return next((count for v, count in self.support if v == value), 0)


def add_support(support: tuple[tuple[str, int], ...], value: str) -> tuple[tuple[str, int], ...]:
    """``support`` with one more vote for ``value``, still sorted by value."""
    counts = dict(support)
    counts[value] = counts.get(value, 0) + 1
    return tuple(sorted(counts.items()))
