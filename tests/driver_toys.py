"""Toy protocols for the driver tests: timer semantics and a run that never ends."""

from __future__ import annotations

import msgspec

from mabeam.core import (
    AgentId,
    CancelTimer,
    Decide,
    Membership,
    Message,
    Protocol,
    SetTimer,
    Snapshot,
    Step,
    always,
)


class Ping(Message, frozen=True, tag="toy.ping"):
    pass


class TimerState(msgspec.Struct, frozen=True):
    fired: tuple[str, ...] = ()
    decided: str | None = None


class TimerToy(Protocol):
    """Exercises arm, cancel and re-arm; ``unit`` scales every delay.

    start: arm t@1, u@0.5, c@0.3 then cancel c, x@0.2 then cancel and re-arm x@0.7.
    u fires at 0.5 and re-arms t to fire 2 later (at 2.5). Expected firings: u, x, t,
    and never c or the first x or the first t. Deciding happens when t fires.
    """

    name = "toy-timers"
    message_types = (Ping,)

    def __init__(self, agents: int = 2, unit: float = 1.0) -> None:
        super().__init__(Membership.of_size(agents))
        self.unit = unit

    def on_start(self, agent: AgentId) -> Step:
        u = self.unit
        return Step(TimerState(), (
            SetTimer("t", 1.0 * u), SetTimer("u", 0.5 * u),
            SetTimer("c", 0.3 * u), CancelTimer("c"),
            SetTimer("x", 0.2 * u), CancelTimer("x"), SetTimer("x", 0.7 * u),
        ))

    def on_message(self, agent: AgentId, state: TimerState, message: Message) -> Step:
        return Step(state)

    def on_timer(self, agent: AgentId, state: TimerState, timer: str) -> Step:
        state = msgspec.structs.replace(state, fired=state.fired + (timer,))
        if timer == "u":
            return Step(state, (SetTimer("t", 2.0 * self.unit),))
        if timer == "t":
            return Step(msgspec.structs.replace(state, decided="done"), (Decide("done"),))
        return Step(state)


@always("TOY-S1", "Timers fire in the promised order")
def fired_in_order(snap: Snapshot) -> bool:
    """No agent ever records a firing that cancel/re-arm should have prevented."""
    expected = ("u", "x", "t")
    return all(s is None or s.fired == expected[:len(s.fired)] for s in snap.states.values())


class Forever(Protocol):
    """Ticks forever and never decides: a run of it can only end at a deadline."""

    name = "toy-forever"
    message_types = (Ping,)

    def __init__(self, agents: int = 2, period: float = 0.01) -> None:
        super().__init__(Membership.of_size(agents))
        self.period = period

    def on_start(self, agent: AgentId) -> Step:
        return Step(0, (SetTimer("tick", self.period),))

    def on_message(self, agent: AgentId, state: int, message: Message) -> Step:
        return Step(state)

    def on_timer(self, agent: AgentId, state: int, timer: str) -> Step:
        return Step(state + 1, (SetTimer("tick", self.period),))
