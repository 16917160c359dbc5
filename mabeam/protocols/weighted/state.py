"""A weighted voter's node state, its phase graph and the per-value support update."""

from __future__ import annotations

import msgspec

from ...core import AgentId, PhaseGraph, PhaseTransition

PHASES = PhaseGraph(
    "weighted", ["voting", "decided"], "voting",
    [
        PhaseTransition("count", "voting", "voting", "first vote of a member: count it"),
        PhaseTransition("equivocate", "voting", "voting", "conflicting vote: keep the first, emit evidence"),
        PhaseTransition("quorum", "voting", "decided", "weight(voters of v) > threshold x total"),
    ],
)


class WeightedState(msgspec.Struct, frozen=True):
    """One agent's view. ``votes[i]`` is the first vote counted from member ``i`` of the
    membership (``None``: none yet); ``support`` is the weight credited to each value,
    kept up to date vote by vote so a step never re-sums the tally."""

    phase: str
    votes: tuple[str | None, ...]
    #: (value, weight of its counted voters in the protocol's integer units), sorted by value;
    #: exactly the values with at least one counted vote
    support: tuple[tuple[str, int], ...]
    refused: frozenset[tuple[AgentId, str]] = frozenset()  # conflicting votes seen and not counted
    decided: str | None = None

    def support_for(self, value: str) -> int:
        """The units credited to ``value`` (0 if nobody voted it)."""
        for v, units in self.support:
            if v == value:
                return units
        return 0


def credit(support: tuple[tuple[str, int], ...], value: str, units: int) -> tuple[tuple[str, int], ...]:
    """``support`` with ``units`` more for ``value`` (a new entry if it had none), still sorted."""
    for i, (v, held) in enumerate(support):
        if v == value:
            return support[:i] + ((v, held + units),) + support[i + 1:]
        if v > value:
            return support[:i] + ((value, units),) + support[i:]
    return support + ((value, units),)
