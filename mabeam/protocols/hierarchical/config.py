"""Group and upper-level configuration of a hierarchy, validated once at construction.

A group of ``n_g`` members tolerating ``f_g`` Byzantine members needs
``n_g >= 3 f_g + 1``; its certificate quorum is ``q_g = (n_g + f_g) // 2 + 1``
(``2 f_g + 1`` when ``n_g = 3 f_g + 1``). Two quorums then overlap in at least
``f_g + 1`` members, so in an honest one; and ``n_g - f_g >= q_g`` honest members
can certify on their own. The upper level counts each group as one vote and
tolerates ``F`` faulty groups with the same arithmetic over groups:
``G >= 3F + 1`` and a threshold of ``(G + F) // 2 + 1`` group votes.

``build`` makes the checked hierarchies of :mod:`.layouts`. It takes the
machine class as an argument: ``machine.py`` imports this module, so the
package root binds :class:`~.machine.Hierarchical` as its default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from ...core import (
    AgentId,
    ConfigurationError,
    DuplicateAgentError,
    InsufficientReplicasError,
    Membership,
    Protocol,
)
from .layouts import layout


def group_quorum(n: int, f: int) -> int:
    """Distinct matching signatures a group certificate needs."""
    return (n + f) // 2 + 1


def upper_threshold(groups: int, faulty_groups: int) -> int:
    """Certified group votes the upper level needs for one value."""
    return (groups + faulty_groups) // 2 + 1


@dataclass(frozen=True)
class Group:
    """One lower-level group: its members, fault bound and forwarders (representative first)."""

    name: str
    members: tuple[AgentId, ...]
    f: int
    forwarders: tuple[AgentId, ...]

    @property
    def n(self) -> int:
        return len(self.members)

    @property
    def quorum(self) -> int:
        return group_quorum(self.n, self.f)

    @property
    def representative(self) -> AgentId:
        return self.forwarders[0]

    def faulty_members(self, byzantine: Iterable[AgentId]) -> int:
        return len(set(byzantine) & set(self.members))


def make_group(name: str, members: Sequence[AgentId], f: int,
               forwarders: Sequence[AgentId] | None = None, *, check_size: bool = True) -> Group:
    """A validated group; ``check_size=False`` exists only for the size-bound mutant."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"a group needs a non-empty name, got {name!r}")
    members = Membership(members).agents
    if isinstance(f, bool) or not isinstance(f, int) or f < 0:
        raise ConfigurationError(f"group {name}: f must be a non-negative integer, got {f!r}")
    if check_size and len(members) < 3 * f + 1:
        raise InsufficientReplicasError(
            f"group {name}: tolerating f={f} Byzantine members needs n >= {3 * f + 1}, got {len(members)}")
    chosen = tuple(forwarders) if forwarders is not None else members[:1]
    if not chosen or any(a not in members for a in chosen) or len(set(chosen)) != len(chosen):
        raise ConfigurationError(f"group {name}: forwarders must be distinct members, got {chosen!r}")
    return Group(name, members, f, chosen)


def validate_layout(groups: Sequence[Group], judges: Sequence[AgentId],
                    inputs: Mapping[AgentId, str]) -> tuple[AgentId, ...]:
    """Every agent of the hierarchy in order (groups, then judges); checks disjointness and inputs."""
    if not groups:
        raise ConfigurationError("a hierarchy needs at least one group")
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"group names must be distinct, got {names}")
    everyone = [a for g in groups for a in g.members] + list(judges)
    if not judges:
        raise ConfigurationError("the upper level needs at least one judge")
    if len(set(everyone)) != len(everyone):
        seen: set[str] = set()
        dup = next(a for a in everyone if a in seen or seen.add(a))  # type: ignore[func-returns-value]
        raise DuplicateAgentError(f"agent {dup!r} belongs to two places in the hierarchy")
    for g in groups:
        for m in g.members:
            value = inputs.get(m)
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"member {m} of group {g.name} needs a non-empty string input")
    extra = set(inputs) - {a for g in groups for a in g.members}
    if extra:
        raise ConfigurationError(f"inputs name agents that are not group members: {sorted(extra)}")
    return tuple(everyone)


def validate_upper(groups: int, faulty_groups: int) -> int:
    """The upper threshold, refusing an upper level outside its bound (typed error)."""
    if isinstance(faulty_groups, bool) or not isinstance(faulty_groups, int) or faulty_groups < 0:
        raise ConfigurationError(f"faulty_groups must be a non-negative integer, got {faulty_groups!r}")
    if groups < 3 * faulty_groups + 1:
        raise InsufficientReplicasError(
            f"the upper level tolerates {faulty_groups} faulty group(s) only with >= {3 * faulty_groups + 1} "
            f"groups, got {groups}")
    return upper_threshold(groups, faulty_groups)


def faults_above(groups: Sequence[Group], byzantine: Iterable[AgentId]) -> int:
    """How many groups count as one faulty vote above: those with more than f_g Byzantine members."""
    byzantine = set(byzantine)
    return sum(1 for g in groups if g.faulty_members(byzantine) > g.f)


# ------------------------------------------------------------ checked instances
H = TypeVar("H")


def build(agents: int, faulty: int, cls: Callable[..., H], *,
          check_size: bool = True, announce: bool | None = None,
          accounting: Callable[[tuple[Group, ...], frozenset[AgentId]], int] = faults_above) -> H:
    """The layout's hierarchy; its upper fault budget counts the groups the placed faults put over bound.

    ``announce`` (default: on when nobody is Byzantine, the live configuration the session
    tests run) makes judges tell members the top decision, so every agent ends decided.
    """
    chosen = layout(agents, faulty)
    groups = tuple(make_group(name, members, f, fwd, check_size=check_size)
                   for name, members, f, fwd in chosen.groups)
    protocol = cls(groups, chosen.judges, chosen.inputs, faulty_groups=accounting(groups, chosen.byzantine),
                   announce=(faulty == 0) if announce is None else announce)
    protocol.placed_byzantine = chosen.byzantine  # type: ignore[attr-defined]
    return protocol


def placed_byzantine(protocol: Protocol, faulty: int) -> frozenset[AgentId]:
    """Where the layout puts its ``faulty`` Byzantine agents."""
    placed: frozenset[AgentId] = getattr(protocol, "placed_byzantine", frozenset())
    if len(placed) != faulty:
        raise ConfigurationError(f"this hierarchy places {len(placed)} Byzantine agents, not {faulty}")
    return placed
