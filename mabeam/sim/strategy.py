"""Byzantine strategies: code that replaces an agent's honest handler in a live run.

A strategy is bound to one identity and holds only that: it sees the messages
delivered to its agent and the timers it armed, and answers with effects, like
an honest node. Drivers enforce the "only its own key" rule: a message a
strategy sends under another member's name is dropped and counted as
``impersonation``. The default strategy is silent (a crash from the start that
nobody can tell apart from a slow node).
"""

from __future__ import annotations

from typing import Any

from ..core.effects import Effect
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.protocol import Protocol


class Strategy:
    """Base class: a silent Byzantine agent. Subclasses override the three hooks."""

    def __init__(self, agent: AgentId) -> None:
        self.agent = agent

    def on_start(self) -> tuple[Effect, ...]:
        return ()

    def on_message(self, message: Message) -> tuple[Effect, ...]:
        return ()

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        return ()


class HonestStrategy(Strategy):
    """Runs the honest state machine under the strategy interface.

    A baseline for attack strategies (which can wrap and distort it) and the
    building block of Twins-style tests: two of these under one identity.
    """

    def __init__(self, agent: AgentId, protocol: Protocol) -> None:
        super().__init__(agent)
        self.protocol = protocol
        self.state: Any = None

    def on_start(self) -> tuple[Effect, ...]:
        self.state, effects = self.protocol.start(self.agent)
        return effects

    def on_message(self, message: Message) -> tuple[Effect, ...]:
        self.state, effects = self.protocol.receive(self.agent, self.state, message)
        return effects

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        self.state, effects = self.protocol.fire(self.agent, self.state, timer)
        return effects
