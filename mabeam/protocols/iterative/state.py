"""An approximate-agreement node's state, its phase graph and per-round reports."""

from __future__ import annotations

from typing import Any

import msgspec

from ...core import AgentId, PhaseGraph, PhaseTransition
from .values import Vector, spread

PHASES = PhaseGraph(
    "iterative", ["collecting", "done"], "collecting",
    [
        PhaseTransition("next-round", "collecting", "collecting",
                        "all n round-r values, or grace timer fired (armed at n-f), and r < R"),
        PhaseTransition("last-round", "collecting", "done",
                        "all n round-R values, or grace timer fired (armed at n-f)"),
        PhaseTransition("no-rounds", "collecting", "done", "R = 0: the domain is already within epsilon"),
    ],
)


class RoundRecord(msgspec.Struct, frozen=True, cache_hash=True):
    """One completed round: the value the agent entered with and the view it left with."""

    round: int
    entered: Vector
    view: frozenset[tuple[AgentId, Vector]]
    left: Vector


class NumericState(msgspec.Struct, frozen=True, cache_hash=True):
    phase: str
    round: int
    value: Vector
    #: values received for the current and later rounds: (round, sender, value), one per (round, sender)
    inbox: frozenset[tuple[int, AgentId, Vector]]
    grace_armed: bool = False
    timed_out: bool = False
    history: tuple[RoundRecord, ...] = ()
    decided: tuple[Vector, int] | None = None


def convergence_history(state: NumericState) -> list[dict[str, Any]]:
    """Per completed round: how many values the agent received, their spread, and its new value."""
    rows = []
    for record in state.history:
        values = [v for _, v in sorted(record.view)]
        rows.append({"round": record.round, "received": len(values), "view_spread": spread(values),
                     "value": record.left})
    return rows
