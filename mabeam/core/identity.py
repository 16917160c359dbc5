"""Agent identities and group membership.

An agent is named by a short string. A :class:`Membership` is the authenticated,
ordered set of agents taking part in one protocol instance; every protocol
validates senders against it, so a message from a non-member is never counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from .errors import DuplicateAgentError, EmptyAgentPoolError, UnknownAgentError

AgentId = str

_VALID_AGENT_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


class Membership:
    """An immutable, ordered group of agent identities."""

    __slots__ = ("_agents", "_index")

    def __init__(self, agents: Iterable[AgentId]) -> None:
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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Membership) and other._agents == self._agents

    def __hash__(self) -> int:
        return hash(self._agents)

    def __repr__(self) -> str:
        return f"Membership({list(self._agents)!r})"
