"""Weighted voting with exact thresholds, crash or Byzantine fault tolerant (spec: ``spec/weighted.md``).

Each agent's influence is an expertise weight fixed by the authenticated
configuration. A value is decided once its voters hold strictly more than
``threshold x total`` weight. Byzantine mode requires ``threshold >= 2/3`` and
faulty weight below 1/3: two deciding sets then overlap in more than 1/3 of the
weight, more than the faulty agents hold, so an honest agent (who votes once)
is in both.
"""

from __future__ import annotations

from typing import Any

from ...core import AgentId, ConfigurationError, Membership
from ...core.catalog import Mutant, ProtocolEntry
from .config import Mode
from .machine import PHASES, Vote, WeightedState, WeightedVoting, next_session
from .mutants import (
    AcceptUnknownSender, DoubleCountRevote, EquivocationReplacesFirst, ReviseDecision, ThresholdInclusive,
    TrustSelfReportedWeight, WaitForAllWeight,
)
from .properties import PROPERTIES

__all__ = ["ENTRY", "PHASES", "PROPERTIES", "Vote", "WeightedState", "WeightedVoting", "build",
           "demo_configuration", "next_session"]


def demo_configuration(agents: int, faulty: int) -> tuple[dict[AgentId, str], dict[AgentId, int]]:
    """Inputs and weights that make every property bite for ``agents`` with ``faulty`` Byzantine ones.

    The last ``faulty`` agents weigh 1 each; the last honest agent weighs 1 and votes
    ``y``; the other honest agents vote ``x`` with unequal weights. The total is ``3m``
    with ``m >= faulty + 2``, so the faulty weight is below a third, and the ``x`` voters
    hold ``3m - 1 - faulty > 2m``, more than two thirds, so termination is promised.
    With 4 agents and 1 faulty (weights 5, 2, 1, 1) the ``x`` lead plus one faulty vote
    sits exactly on 2/3, the boundary the strict threshold must refuse.
    """
    if not isinstance(agents, int) or agents < 1 or not isinstance(faulty, int) or not 0 <= faulty < agents:
        raise ConfigurationError(f"need 0 <= faulty < agents, got agents={agents!r}, faulty={faulty!r}")
    names = Membership.of_size(agents).agents
    honest = agents - faulty
    if honest == 1:
        weights = [2 * faulty + 1] + [1] * faulty
        values = ["x"] + ["y"] * faulty
    else:
        others = [2 if j % 2 == 0 else 1 for j in range(honest - 2)]
        m = faulty + 2
        while 3 * m - 1 - faulty - sum(others) < max([3, *[o + 1 for o in others]]):
            m += 1
        lead = 3 * m - 1 - faulty - sum(others)
        weights = [lead, *others, 1] + [1] * faulty
        values = ["x"] * (honest - 1) + ["y"] * (faulty + 1)
    return dict(zip(names, values)), dict(zip(names, weights))


def build(agents: int, faulty: int = 0, cls: type[WeightedVoting] = WeightedVoting,
          mode: Mode = "byzantine") -> WeightedVoting:
    """The checked configuration: ``faulty`` Byzantine agents (crashes in crash mode) are the last ones."""
    inputs, weights = demo_configuration(agents, faulty)
    bound = sum(weights[a] for a in list(weights)[agents - faulty:]) if mode == "byzantine" else 0
    return cls(Membership(inputs), inputs, weights, mode=mode, max_faulty_weight=bound)


def _mutant(name: str, cls: type[WeightedVoting], description: str, breaks: tuple[str, ...],
            size: tuple[int, int] | None = None, **overrides: Any) -> Mutant:
    """``size`` = (agents, faulty) where the bug already shows, for mutants whose
    state space at the default size is needlessly large."""
    checked_agents, checked_faulty = size if size else (None, None)
    return Mutant("weighted", name, description, breaks,
                  lambda agents, faulty: build(agents, faulty, cls), overrides, checked_agents, checked_faulty)


MUTANTS = (
    _mutant("threshold-inclusive", ThresholdInclusive,
            "decides on support >= 2/3 of the weight instead of strictly more", ("WV-S5",)),
    _mutant("double-count-revote", DoubleCountRevote,
            "a re-delivered vote adds its sender's weight again", ("WV-S4",), (3, 1)),
    _mutant("accept-unknown-sender", AcceptUnknownSender,
            "an outsider's vote is counted with a default weight of 1", ("WV-S4",), (3, 1), intruder=True),
    _mutant("trust-self-reported-weight", TrustSelfReportedWeight,
            "counts the weight a vote claims; a Byzantine agent claims everything",
            ("WV-S1", "WV-S2", "WV-S4", "WV-S5")),
    _mutant("equivocation-replaces-first", EquivocationReplacesFirst,
            "a conflicting vote replaces the counted first vote", ("WV-S4",), (3, 1)),
    _mutant("revise-decision", ReviseDecision,
            "keeps counting after deciding and re-decides on a plurality of counted weight",
            ("WV-S3", "WV-S1"), (3, 1)),
    _mutant("wait-for-all-weight", WaitForAllWeight,
            "waits for the whole weight on one value, so one dissenter blocks termination",
            ("WV-L1", "WV-R1"), (3, 1)),
)

ENTRY = ProtocolEntry(
    name="weighted",
    summary="weighted vote with exact thresholds; Byzantine-safe with > 2/3 of weight, faulty < 1/3",
    fault_model="byzantine",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=4,
    default_faulty=1,
    check_defaults={"network": "duplicating", "intruder": True},
)
