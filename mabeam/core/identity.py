"""Agent identities and group membership.

An agent is named by a short string. A :class:`Membership` is the authenticated,
ordered set of agents taking part in one protocol instance; every protocol
validates senders against it, so a message from a non-member is never counted.

A membership may also name *roles* (coordinator and participants, proposers and
acceptors): each role is a subset of the members, in membership order, and an
agent may hold several. Protocols ask for a role's members and for quorums
within a role instead of parsing roles out of agent names, and the quorum
arithmetic lives in one place (:meth:`Membership.majority`,
:meth:`Membership.byzantine_quorum`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from .errors import ConfigurationError, DuplicateAgentError, EmptyAgentPoolError, UnknownAgentError, UnknownRoleError

AgentId = str

_VALID_AGENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_VALID_ROLE = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")


class Membership:
    """An immutable, ordered group of agent identities."""

    __slots__ = ("_agents", "_index", "_roles")

    def __init__(self, agents: Iterable[AgentId], roles: Mapping[str, Iterable[AgentId]] | None = None) -> None:
        ordered = tuple(agents)
        if not ordered:
            raise EmptyAgentPoolError("a group needs at least one agent")
        for agent in ordered:
            if not isinstance(agent, str) or not _VALID_AGENT_ID.match(agent):
                raise EmptyAgentPoolError(
                    f"invalid agent id {agent!r}: use 1-64 letters, digits, '_', '.', ':' or '-'"
                )
        if len(set(ordered)) != len(ordered):
            seen: set[str] = set()
            dup = next(a for a in ordered if a in seen or seen.add(a))  # type: ignore[func-returns-value]
            raise DuplicateAgentError(f"agent {dup!r} appears more than once")
        self._agents = ordered
        self._index = {agent: i for i, agent in enumerate(ordered)}
        self._roles = self._validated_roles(roles or {})

    def _validated_roles(self, roles: Mapping[str, Iterable[AgentId]]) -> dict[str, tuple[AgentId, ...]]:
        """Each role as its members in membership order; a typed error for a bad name or a non-member."""
        if not isinstance(roles, Mapping):
            raise ConfigurationError(f"roles must map a role name to its members, got {type(roles).__name__}")
        found: dict[str, tuple[AgentId, ...]] = {}
        for role, members in roles.items():
            if not isinstance(role, str) or not _VALID_ROLE.match(role):
                raise ConfigurationError(f"invalid role name {role!r}: use 1-32 lowercase letters, digits, '_' "
                                         "or '-', starting with a letter")
            if isinstance(members, str):
                raise ConfigurationError(f"the members of role {role!r} must be a collection of agents, "
                                         f"not the string {members!r}")
            chosen = set(members)
            outsiders = sorted(a for a in chosen if a not in self._index)
            if outsiders:
                raise ConfigurationError(f"role {role!r} names non-members {outsiders}")
            if not chosen:
                raise ConfigurationError(f"role {role!r} has no members")
            found[role] = tuple(a for a in self._agents if a in chosen)
        return found

    @classmethod
    def with_roles(cls, **roles: int | Iterable[AgentId]) -> Membership:
        """A group made of roles, in the order given: ``with_roles(coordinator=1, participant=3)``
        names agents ``coordinator0, participant0 .. participant2``; a role given as names uses them.
        An agent named in two roles holds both."""
        agents: list[AgentId] = []
        members: dict[str, list[AgentId]] = {}
        for role, spec in roles.items():
            if isinstance(spec, bool) or (isinstance(spec, int) and spec < 1):
                raise ConfigurationError(f"role {role!r} needs at least one member, got {spec!r}")
            names = [f"{role}{i}" for i in range(spec)] if isinstance(spec, int) else list(spec)
            members[role] = names
            agents += [a for a in names if a not in agents]
        return cls(agents, members)

    @classmethod
    def of_size(cls, n: int, prefix: str = "a") -> Membership:
        """A group of ``n`` agents named ``a0 .. a{n-1}``."""
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise EmptyAgentPoolError(f"a group needs at least one agent, got n={n!r}")
        return cls(f"{prefix}{i}" for i in range(n))

    @property
    def agents(self) -> tuple[AgentId, ...]:
        return self._agents

    def __len__(self) -> int:
        return len(self._agents)

    def __iter__(self) -> Iterator[AgentId]:
        return iter(self._agents)

    def __contains__(self, agent: object) -> bool:
        return agent in self._index

    def index(self, agent: AgentId) -> int:
        try:
            return self._index[agent]
        except KeyError:
            raise UnknownAgentError(f"{agent!r} is not a member of this group") from None

    def require(self, agent: AgentId) -> AgentId:
        """Return ``agent`` if it is a member, else raise :class:`UnknownAgentError`."""
        self.index(agent)
        return agent

    def others(self, agent: AgentId) -> tuple[AgentId, ...]:
        return tuple(a for a in self._agents if a != agent)

    # ------------------------------------------------------------------ roles
    @property
    def roles(self) -> Mapping[str, tuple[AgentId, ...]]:
        """Every declared role and its members, in membership order (empty if none were declared)."""
        return dict(self._roles)

    def role(self, name: str) -> tuple[AgentId, ...]:
        """The members holding role ``name``, in membership order."""
        try:
            return self._roles[name]
        except KeyError:
            known = ", ".join(self._roles) or "none declared"
            raise UnknownRoleError(f"no role {name!r} in this group (roles: {known})") from None

    def roles_of(self, agent: AgentId) -> frozenset[str]:
        """The roles ``agent`` holds (empty for a member without a role)."""
        self.require(agent)
        return frozenset(role for role, members in self._roles.items() if agent in members)

    def has_role(self, agent: AgentId, role: str) -> bool:
        return agent in self.role(role)

    def _group(self, role: str | None) -> tuple[AgentId, ...]:
        return self._agents if role is None else self.role(role)

    # ---------------------------------------------------------------- quorums
    def majority(self, role: str | None = None) -> int:
        """How many distinct members of ``role`` (default: the whole group) form a strict majority:
        n//2 + 1. Two majorities of the same role always share a member."""
        return len(self._group(role)) // 2 + 1

    def byzantine_quorum(self, faulty: int, role: str | None = None) -> int:
        """The smallest quorum any two of which share an honest member when up to ``faulty`` members
        of ``role`` lie: more than (n + f)/2, i.e. (n + f)//2 + 1 (2f+1 when n = 3f+1)."""
        n = len(self._group(role))
        if isinstance(faulty, bool) or not isinstance(faulty, int) or faulty < 0 or n < 3 * faulty + 1:
            raise ConfigurationError(f"a Byzantine quorum among {n} members tolerates f <= (n-1)/3, got f={faulty!r}")
        return (n + faulty) // 2 + 1

    def count_in(self, voters: Iterable[AgentId], role: str | None = None) -> int:
        """How many distinct ``voters`` are members of ``role`` (outsiders and repeats never count)."""
        group = set(self._group(role))
        return len(group.intersection(voters))

    def is_majority(self, voters: Iterable[AgentId], role: str | None = None) -> bool:
        """Whether ``voters`` include a strict majority of ``role``'s members."""
        return self.count_in(voters, role) >= self.majority(role)

    def is_quorum(self, voters: Iterable[AgentId], size: int, role: str | None = None) -> bool:
        """Whether ``voters`` include at least ``size`` distinct members of ``role``."""
        return self.count_in(voters, role) >= size

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Membership) and other._agents == self._agents and other._roles == self._roles

    def __hash__(self) -> int:
        if not self._roles:
            return hash(self._agents)
        return hash((self._agents, tuple(sorted(self._roles.items()))))

    def __repr__(self) -> str:
        if self._roles:
            return f"Membership({list(self._agents)!r}, roles={ {k: list(v) for k, v in self._roles.items()}!r})"
        return f"Membership({list(self._agents)!r})"
