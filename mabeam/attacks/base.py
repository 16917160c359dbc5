"""The shape every attack shares: an honest node underneath, its outgoing effects distorted.

An attack strategy wraps a :class:`~mabeam.live.strategy.HonestStrategy` for its
own identity, so it follows the protocol well enough to be dangerous (it votes,
proposes and changes views like everyone else) and only bends what it sends.
What it knows about the protocol comes from a :class:`MessageAdapter`, which
holds nothing but the attacker's own signing ability: an attack can re-value
and re-sign *its own* messages, never sign as another agent.

Attack timers are the attacker's own: they travel through the driver like any
timer, under a ``attack:`` prefix that keeps them apart from the honest node's.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.effects import Effect, Send
from ..core.identity import AgentId
from ..core.interpret import EffectRecorder, interpret
from ..core.messages import Message
from ..core.rng import SeededRandom
from ..live.strategy import HonestStrategy, Strategy

ATTACK_TIMER = "attack:"


class MessageAdapter:
    """Protocol knowledge for attacks; the default suits unsigned protocols.

    Subclasses hold the attacker's own signer and override what their protocol needs.
    """

    def resign(self, message: Message) -> Message:
        """``message`` (changed by the attacker) signed again with the attacker's own key."""
        return message

    def conflicting(self, message: Message) -> Message | None:
        """Another message for the same slot (view, sequence...) with different content, or ``None``."""
        return None

    def bad_signature(self, message: Message) -> Message | None:
        """``message`` with a signature that cannot verify, or ``None`` if messages are unsigned."""
        signature = getattr(message, "signature", None)
        if not isinstance(signature, bytes):
            return None
        corrupted = bytes(b ^ 0xFF for b in signature) if signature else b"\x00" * 16
        return message.replace(signature=corrupted)

    def in_session(self, message: Message, session: str) -> Message:
        """``message`` as the attacker would have signed it in another session (a replay source)."""
        return self.resign(message.replace(session=session))


class Distorting(Strategy):
    """An honest node whose outgoing messages pass through :meth:`outgoing` first."""

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None) -> None:
        super().__init__(honest.agent)
        self.honest = honest
        self.adapter = adapter or MessageAdapter()
        self.peers: tuple[AgentId, ...] = honest.protocol.membership.others(honest.agent)

    def attach(self, rng: SeededRandom) -> None:
        super().attach(rng)
        self.honest.attach(rng.derive("honest"))

    # ---------------------------------------------------------------- hooks
    def on_start(self) -> tuple[Effect, ...]:
        return self.started() + self.distort(self.honest.on_start())

    def on_message(self, message: Message) -> tuple[Effect, ...]:
        return self.distort(self.honest.on_message(message))

    def on_timer(self, timer: str) -> tuple[Effect, ...]:
        if timer.startswith(ATTACK_TIMER):
            return self.on_attack_timer(timer[len(ATTACK_TIMER):])
        return self.distort(self.honest.on_timer(timer))

    # ---------------------------------------------------- what attacks override
    def started(self) -> tuple[Effect, ...]:
        """Effects of the attack itself at start (e.g. arming its own timers)."""
        return ()

    def on_attack_timer(self, name: str) -> tuple[Effect, ...]:
        return ()

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        """What actually goes out when the honest node sends ``message`` to ``recipients``."""
        return [Send(to, message) for to in recipients]

    # ---------------------------------------------------------------- helpers
    def distort(self, effects: Sequence[Effect]) -> tuple[Effect, ...]:
        out = _Rerouting(self)
        interpret(effects, out)
        return tuple(out.effects)

    def split(self, fraction: float) -> tuple[frozenset[AgentId], frozenset[AgentId]]:
        """The peers divided once, at random from the run's seed: (first group, the rest)."""
        size = max(1, min(len(self.peers) - 1, round(len(self.peers) * fraction))) if len(self.peers) > 1 else 1
        chosen = frozenset(self.rng.sample(list(self.peers), size))
        return chosen, frozenset(self.peers) - chosen


class _Rerouting(EffectRecorder):
    """Passes the honest node's effects through, each send or broadcast via ``attack.outgoing``."""

    __slots__ = ("attack",)

    def __init__(self, attack: Distorting) -> None:
        super().__init__()
        self.attack = attack

    def send(self, to: AgentId, message: Message) -> None:
        self.effects += self.attack.outgoing(message, (to,))

    def broadcast(self, message: Message, include_self: bool) -> None:
        attack = self.attack
        self.effects += attack.outgoing(message, attack.peers + ((attack.agent,) if include_self else ()))


def timer(name: str) -> str:
    """The driver-level name of one of the attacker's own timers."""
    return ATTACK_TIMER + name
