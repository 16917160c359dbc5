"""Simple-majority arithmetic, input validation and the checked configuration.

``quorum`` and ``crash_tolerance`` are plain functions of the group size so the
Z3 model (``models/majority.py``) and the machine use one definition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ...core import AgentId, ConfigurationError, Membership

if TYPE_CHECKING:
    from .machine import MajorityVoting


def quorum(n: int) -> int:
    """Votes a value needs: a strict majority of the n members, n//2 + 1."""
    return n // 2 + 1


def crash_tolerance(n: int) -> int:
    """The most crashes under which a unanimous group still decides: f < n/2."""
    return (n - 1) // 2


def validate_inputs(membership: Membership, inputs: Mapping[AgentId, str]) -> dict[AgentId, str]:
    """Every member, and only members, has a string input."""
    missing = [a for a in membership.agents if a not in inputs]
    extra = [a for a in inputs if a not in membership]
    if missing or extra:
        raise ConfigurationError(f"inputs must name every member exactly: missing {missing}, "
                                 f"unknown {extra}")
    for agent, value in inputs.items():
        if not isinstance(value, str):
            raise ConfigurationError(f"input of {agent} must be a string, got {type(value).__name__}")
    return dict(inputs)


def split_inputs(n: int) -> dict[AgentId, str]:
    """Inputs that make disagreement possible: a minority votes 'x', the rest 'y'."""
    minority = (n - 1) // 2
    return {f"a{i}": ("x" if i < minority else "y") for i in range(n)}


def build(agents: int, faulty: int, cls: type[MajorityVoting]) -> MajorityVoting:
    """The checked configuration: split inputs, ``faulty`` < n/2 crashes."""
    membership = Membership.of_size(agents)
    if faulty < 0 or 2 * faulty >= agents:
        raise ConfigurationError(f"simple majority tolerates f < n/2 crashes; got n={agents}, f={faulty}")
    return cls(membership, split_inputs(agents))
