"""The attacks: silence, equivocation, timing, forgery and replay, each a distorted honest node.

Every attack is deterministic given the run's seed (its random choices come from
the stream the driver attaches) and bounded: it arms finitely many timers, so a
run with attackers still reaches quiescence.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.effects import Effect, Send, SetTimer
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.rng import SeededRandom
from ..live.strategy import HonestStrategy
from .base import Distorting, MessageAdapter, timer


def _non_negative(name: str, value: object, *, integer: bool = False) -> None:
    kinds = (int,) if integer else (int, float)
    if value is not None and (isinstance(value, bool) or not isinstance(value, kinds) or not value >= 0):
        raise ConfigurationError(f"{name} must be a non-negative {'integer' if integer else 'number'}, "
                                 f"got {value!r}")


class Silent(Distorting):
    """Participates honestly, then goes quiet for good.

    It stops after sending ``after_messages`` point-to-point messages (a broadcast to
    k peers counts k, so it may stop half-way through one) or once its own timer
    ``after_time`` fires, whichever comes first; with neither it is silent from the start.
    """

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 after_messages: int | None = None, after_time: float | None = None) -> None:
        super().__init__(honest, adapter)
        _non_negative("after_messages", after_messages, integer=True)
        _non_negative("after_time", after_time)
        self.after_messages = after_messages
        self.after_time = after_time
        self.quiet = after_messages is None and after_time is None
        self.sent = 0

    def started(self) -> tuple[Effect, ...]:
        return (SetTimer(timer("quiet"), self.after_time),) if self.after_time is not None else ()

    def on_attack_timer(self, name: str) -> tuple[Effect, ...]:
        self.quiet = True
        return ()

    def distort(self, effects: Sequence[Effect]) -> tuple[Effect, ...]:
        return () if self.quiet else super().distort(effects)

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        out: list[Effect] = []
        for to in recipients:
            if self.after_messages is not None and self.sent >= self.after_messages:
                self.quiet = True
                break
            self.sent += 1
            out.append(Send(to, message))
        return out


class Equivocating(Distorting):
    """Tells different peers different things: each of its messages has a conflicting twin.

    A ``fraction`` of the peers (chosen once from the seed) gets the honest message,
    the rest the adapter's conflicting variant, signed with the attacker's own key.
    The first ``overlap`` peers of the honest group get both, the honest one first:
    that is how a lie is caught in practice, and what produces transferable evidence.
    """

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 fraction: float = 0.5, overlap: int = 1) -> None:
        super().__init__(honest, adapter)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
            raise ConfigurationError(f"fraction must be in [0, 1], got {fraction!r}")
        _non_negative("overlap", overlap, integer=True)
        self.fraction = fraction
        self.overlap = overlap
        self.truthful: frozenset[AgentId] = frozenset(self.peers)
        self.witnesses: frozenset[AgentId] = frozenset()
        self.equivocations = 0

    def attach(self, rng: SeededRandom) -> None:
        super().attach(rng)
        self.truthful, _ = self.split(self.fraction)
        self.witnesses = frozenset(sorted(self.truthful)[: self.overlap])

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        twin = self.adapter.conflicting(message)
        if twin is None:
            return super().outgoing(message, recipients)
        self.equivocations += 1
        out: list[Effect] = [Send(to, message) for to in recipients if to in self.truthful]
        out += [Send(to, twin) for to in recipients if to not in self.truthful or to in self.witnesses]
        return out


class Delaying(Distorting):
    """Plays with time: some peers get its messages at once, the others ``delay`` later.

    The late copies wait on the attacker's own timers, so it can aim them around the
    protocol's timeouts (just before or just after a view-change timer expires).
    """

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 delay: float = 1.0, early_fraction: float = 0.5) -> None:
        super().__init__(honest, adapter)
        _non_negative("delay", delay)
        if not 0 <= early_fraction <= 1:
            raise ConfigurationError(f"early_fraction must be in [0, 1], got {early_fraction!r}")
        self.delay = float(delay)
        self.early_fraction = early_fraction
        self.early: frozenset[AgentId] = frozenset()
        self.held: dict[str, list[Send]] = {}
        self.batches = 0
        self.released = 0

    def attach(self, rng: SeededRandom) -> None:
        super().attach(rng)
        self.early, _ = self.split(self.early_fraction)

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        out: list[Effect] = [Send(to, message) for to in recipients if to in self.early]
        late = [Send(to, message) for to in recipients if to not in self.early]
        if late:
            name = f"release-{self.batches}"
            self.batches += 1
            self.held[name] = late
            out.append(SetTimer(timer(name), self.delay))
        return out

    def on_attack_timer(self, name: str) -> tuple[Effect, ...]:
        late = self.held.pop(name, [])
        self.released += len(late)
        return tuple(late)


class Forging(Distorting):
    """Sends, beside each honest message, forgeries no honest replica may accept.

    For its first ``limit`` messages: a copy whose signature does not verify (counted
    by honest replicas as a bad signature) and a copy claiming to come from another
    member (``victim``, by default the next agent), carrying the attacker's own
    signature since it holds no other key (counted by the driver as impersonation).
    """

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 victim: AgentId | None = None, limit: int = 8) -> None:
        super().__init__(honest, adapter)
        _non_negative("limit", limit, integer=True)
        if victim is not None and victim not in self.peers:
            raise ConfigurationError(f"the forger can only claim to be another member, not {victim!r}")
        self.victim = victim or self.peers[0]
        self.limit = limit
        self.forged = 0

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        out = super().outgoing(message, recipients)
        if self.forged >= self.limit:
            return out
        self.forged += 1
        unverifiable = self.adapter.bad_signature(message)
        if unverifiable is not None:
            out += [Send(to, unverifiable) for to in recipients]
        impostor = message.replace(sender=self.victim)
        out += [Send(to, impostor) for to in recipients if to != self.victim]
        return out


class Replaying(Distorting):
    """Re-sends its own old messages: from earlier views (stale) and from an earlier session.

    Every ``period`` (its own timer, ``rounds`` times) it re-broadcasts everything it
    has sent so far, and each message re-signed as it would have been in
    ``old_session``: honest replicas must refuse them as stale, duplicate or
    wrong-session, never count them again.
    """

    def __init__(self, honest: HonestStrategy, adapter: MessageAdapter | None = None, *,
                 period: float = 0.5, rounds: int = 3, old_session: str | None = "previous-session") -> None:
        super().__init__(honest, adapter)
        _non_negative("period", period)
        _non_negative("rounds", rounds, integer=True)
        self.period = float(period)
        self.rounds = rounds
        self.old_session = old_session
        self.recorded: dict[Message, None] = {}
        self.replayed = 0

    def started(self) -> tuple[Effect, ...]:
        return (SetTimer(timer("replay"), self.period),) if self.rounds else ()

    def outgoing(self, message: Message, recipients: tuple[AgentId, ...]) -> list[Effect]:
        self.recorded.setdefault(message, None)
        return super().outgoing(message, recipients)

    def on_attack_timer(self, name: str) -> tuple[Effect, ...]:
        self.rounds -= 1
        out: list[Effect] = []
        for message in list(self.recorded):
            out += [Send(to, message) for to in self.peers]
            if self.old_session is not None:
                out += [Send(to, self.adapter.in_session(message, self.old_session)) for to in self.peers]
        self.replayed += len(out)
        if self.rounds > 0:
            out.append(SetTimer(timer("replay"), self.period))
        return tuple(out)
