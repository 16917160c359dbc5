"""Byzantine strategies: code that replaces an agent's honest handler in a live run.

A strategy is bound to one identity and holds only that: it sees the messages
delivered to its agent and the timers it armed, and answers with effects, like
an honest node. Drivers enforce the "only its own key" rule: a message a
strategy sends under another member's name is dropped and counted as
``impersonation``. The default strategy is silent (a crash from the start that
nobody can tell apart from a slow node). Attack strategies live in
:mod:`mabeam.attacks`.

Chance comes from the driver: before the run it calls :meth:`Strategy.attach`
with a :class:`~mabeam.core.rng.SeededRandom` derived from the run's seed and
the agent's name, so a simulated attack is as reproducible as the network.
"""

from __future__ import annotations

from typing import Any

from ..core.effects import Defer, Effect
from ..core.identity import AgentId
from ..core.interpret import EffectRecorder, interpret
from ..core.messages import Message
from ..core.protocol import Protocol
from ..core.rng import SeededRandom
from .deferral import DEFER_CAP, DeferredQueue, changed, redeliver


class Strategy:
    """Base class: a silent Byzantine agent. Subclasses override the three hooks."""

    def __init__(self, agent: AgentId) -> None:
        self.agent = agent
        self.rng = SeededRandom(f"strategy/{agent}")

    def attach(self, rng: SeededRandom) -> None:
        """Receive the run's random stream for this agent (called by the driver before starting)."""
        self.rng = rng

    def on_start(self) -> tuple[Effect, ...]:
        return ()

    def on_message(self, message: Message) -> tuple[Effect, ...]:
        return ()

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        return ()


def strategy_step(strategy: Strategy, token: int, message: Message) -> tuple[int, tuple[Effect, ...]]:
    """A strategy's answer to a redelivered message, shaped like a protocol step.

    A strategy's state is its own business, so ``token`` stands in for it: it counts
    steps that did more than defer again, which is what tells the driver's
    redelivery loop (:func:`~mabeam.live.deferral.redeliver`) that progress was made.
    """
    effects = tuple(strategy.on_message(message))
    progressed = any(type(e) is not Defer for e in effects)
    return (token + 1 if progressed else token), effects


class HonestStrategy(Strategy):
    """Runs the honest state machine under the strategy interface.

    A baseline for attack strategies (which can wrap and distort it) and the
    building block of Twins-style tests: two of these under one identity. It
    keeps its own deferred queue, exactly as a driver does for an honest node,
    so the effects it returns never contain a ``Defer``.
    """

    def __init__(self, agent: AgentId, protocol: Protocol, defer_cap: int = DEFER_CAP) -> None:
        super().__init__(agent)
        self.protocol = protocol
        self.state: Any = None
        self.deferred = DeferredQueue(defer_cap)
        self.deferrals = 0

    def on_start(self) -> tuple[Effect, ...]:
        self.state, effects = self.protocol.start(self.agent)
        return self._settle(None, effects)

    def on_message(self, message: Message) -> tuple[Effect, ...]:
        before = self.state
        self.state, effects = self.protocol.receive(self.agent, before, message)
        return self._settle(before, effects)

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        before = self.state
        self.state, effects = self.protocol.fire(self.agent, before, timer)
        return self._settle(before, effects)

    def _settle(self, before: Any, effects: tuple[Effect, ...]) -> tuple[Effect, ...]:
        out = _Parking(self)
        interpret(effects, out)
        if self.deferred and changed(before, self.state):
            self.state = redeliver(self.state, self.deferred,
                                   lambda s, m: self.protocol.receive(self.agent, s, m),
                                   lambda more: interpret(more, out))
        return tuple(out.effects)


class _Parking(EffectRecorder):
    """Passes effects through, except that deferred messages go to the honest node's own queue."""

    __slots__ = ("owner",)

    def __init__(self, owner: HonestStrategy) -> None:
        super().__init__()
        self.owner = owner

    def defer(self, message: Message) -> None:
        self.owner.deferrals += 1
        self.owner.deferred.add(message)
