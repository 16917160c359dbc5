"""Adaptive attacks: a Byzantine agent that changes tactics once it notices it is suspected.

An :class:`Adaptive` attacker plays a *first* attack (say, equivocation) until a
message it receives tells it that it has been noticed, then switches for good
to a *then* attack (going silent, or merely slow). What counts as "noticed" is
protocol knowledge, passed in as a :data:`Notice` predicate;
:func:`pbft_suspicion` is PBFT's: a peer's VIEW-CHANGE away from a view the
attacker leads, i.e. the peers' timers gave up on it.

Both tactics wrap the *same* honest node, so the switch does not reset what the
attacker knows. Each tactic's own timers are tagged with its index; a timer of
an abandoned tactic is ignored (the attacker changed its mind).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..core.effects import Effect
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.interpret import EffectRecorder, interpret
from ..core.messages import Message
from ..core.rng import SeededRandom
from ..live.strategy import HonestStrategy
from ..protocols.pbft import PBFTReplica
from ..protocols.pbft.messages import ViewChange
from .base import ATTACK_TIMER, Distorting, MessageAdapter
from .strategies import Delaying, Equivocating, Forging, Replaying, Silent

#: (message received, the attacker's identity) -> whether it reveals that the attacker is suspected
Notice = Callable[[Message, AgentId], bool]

TACTICS: dict[str, type[Distorting]] = {
    "silent": Silent, "equivocating": Equivocating, "delaying": Delaying,
    "forging": Forging, "replaying": Replaying,
}


def pbft_suspicion(replica: PBFTReplica) -> Notice:
    """PBFT's tell: another replica's VIEW-CHANGE to a view above one the attacker leads."""
    def noticed(message: Message, agent: AgentId) -> bool:
        return (isinstance(message, ViewChange) and message.sender != agent
                and any(replica.primary(v) == agent for v in range(message.view)))

    return noticed


class Adaptive(Distorting):
    """Plays ``first`` until ``noticed`` fires on a received message, then ``then`` for good."""

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 noticed: Notice, first: str = "equivocating", then: str = "silent",
                 first_options: Mapping[str, Any] | None = None,
                 then_options: Mapping[str, Any] | None = None) -> None:
        super().__init__(honest, adapter)
        if not callable(noticed):
            raise ConfigurationError("noticed must be a predicate (message, agent) -> bool")
        self.noticed = noticed
        self.tactics: tuple[Distorting, ...] = tuple(
            _tactic(name, honest, self.adapter, options)
            for name, options in ((first, first_options), (then, then_options)))
        self.names = (first, then)
        self.active = 0
        self.trigger: Message | None = None  # the message that gave the attacker away

    @property
    def switched(self) -> bool:
        return self.active == 1

    def attach(self, rng: SeededRandom) -> None:
        super().attach(rng)
        for index, tactic in enumerate(self.tactics):
            tactic.attach(rng.derive(f"tactic/{index}"))

    def on_start(self) -> tuple[Effect, ...]:
        return self._tagged(0, self.tactics[0].on_start())

    def on_message(self, message: Message) -> tuple[Effect, ...]:
        switching: tuple[Effect, ...] = ()
        if not self.switched and self.noticed(message, self.agent):
            self.active, self.trigger = 1, message
            switching = self._tagged(1, self.tactics[1].started())
        return switching + self._tagged(self.active, self.tactics[self.active].on_message(message))

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        if timer.startswith(ATTACK_TIMER):
            index, _, name = timer[len(ATTACK_TIMER):].partition("/")
            if index != str(self.active):
                return ()
            return self._tagged(self.active, self.tactics[self.active].on_attack_timer(name))
        return self._tagged(self.active, self.tactics[self.active].on_timer(timer))

    def _tagged(self, index: int, effects: tuple[Effect, ...]) -> tuple[Effect, ...]:
        """The tactic's own timers renamed ``attack:<index>/<name>`` so they come back to it."""
        out = _TimerTagger(index)
        interpret(effects, out)
        return tuple(out.effects)


class _TimerTagger(EffectRecorder):
    """Passes effects through, renaming attack timers ``attack:<index>/<name>``."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def _tag(self, name: str) -> str:
        return f"{ATTACK_TIMER}{self.index}/{name[len(ATTACK_TIMER):]}" if name.startswith(ATTACK_TIMER) else name

    def set_timer(self, name: str, delay: float) -> None:
        super().set_timer(self._tag(name), delay)

    def cancel_timer(self, name: str) -> None:
        super().cancel_timer(self._tag(name))


def _tactic(name: str, honest: HonestStrategy, adapter: MessageAdapter,
            options: Mapping[str, Any] | None) -> Distorting:
    if name not in TACTICS:
        raise ConfigurationError(f"unknown tactic {name!r}; known: {', '.join(sorted(TACTICS))}")
    try:
        return TACTICS[name](honest, adapter, **dict(options or {}))
    except TypeError as exc:
        raise ConfigurationError(f"bad options for the {name} tactic: {exc}") from None
