"""Deferral bookkeeping shared by the live drivers (simulator and asyncio runtime).

Both drivers keep one :class:`~mabeam.sim.deferral.DeferredQueue` per node,
count deferrals the same way and hand deferred messages back through the same
loop; only the simulator also logs each redelivery, through :meth:`_on_redeliver`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.effects import Effect
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.protocol import Protocol
from .deferral import DeferredQueue, redeliver
from .result import RunLedger
from .strategy import Strategy, strategy_step


class Redelivery:
    """Mixin for a driver with ``protocol``, ``_ledger``, ``_states``, ``_deferred``, ``_events``
    and an effect interpreter ``_apply(i, agent, effects, byzantine)``."""

    protocol: Protocol
    _ledger: RunLedger
    _states: dict[AgentId, Any]
    _deferred: list[DeferredQueue]
    _events: int
    _apply: Callable[[int, AgentId, tuple[Effect, ...], bool], None]

    def _defer(self, i: int, message: Message) -> None:
        """Interpret a ``Defer`` effect of node ``i``."""
        self._ledger.messages.deferred += 1
        if not self._deferred[i].add(message):
            self._ledger.rejected["defer-overflow"] += 1

    def _on_redeliver(self, agent: AgentId, message: Message) -> None:
        """Hook called before each redelivery (the simulator logs it)."""

    def _redeliver(self, i: int, agent: AgentId, strategy: Strategy | None) -> None:
        """Hand agent ``i`` its deferred messages back, now that its state changed."""
        stats = self._ledger.messages

        def receive(state: Any, message: Message) -> tuple[Any, tuple[Effect, ...]]:
            stats.redelivered += 1
            self._events += 1
            self._on_redeliver(agent, message)
            if strategy is None:
                step = self.protocol.receive(agent, state, message)
                self._states[agent] = step.state  # a monitor check inside emit sees it
                return step
            return strategy_step(strategy, state, message)

        def emit(effects: tuple[Effect, ...]) -> None:
            self._apply(i, agent, effects, strategy is not None)

        final = redeliver(self._states[agent] if strategy is None else 0, self._deferred[i], receive, emit)
        if strategy is None:
            self._states[agent] = final
