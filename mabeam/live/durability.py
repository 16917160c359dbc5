"""What a live driver needs of stable storage to restart a node without it contradicting itself.

After every step of an honest agent whose :meth:`~mabeam.core.protocol.Protocol.durable`
part changed, the driver saves that part, and only then hands the step's
effects (its messages) to the network. A driver given storage starts an agent
that has a saved value with :meth:`~mabeam.core.protocol.Protocol.recover`
instead of :meth:`~mabeam.core.protocol.Protocol.start`. The runtime's
implementation is :class:`mabeam.runtime.store.DurableLog` (SQLite, fsynced).
"""

from __future__ import annotations

from typing import Any, Protocol

from ..core.identity import AgentId


class StableStorage(Protocol):
    """Each agent's durable value: ``load`` at start, ``save`` before a step's messages leave."""

    def load(self, agent: AgentId) -> Any | None:
        """The value last saved for ``agent``, or ``None`` if it never saved one."""

    def save(self, agent: AgentId, value: Any) -> None:
        """Persist ``value``; it must be on stable storage when this returns."""
