"""Toy protocols for the drivers' Defer support: parts that must be used in order."""

from __future__ import annotations

from mabeam.core import AgentId, Decide, Defer, Membership, Message, Protocol, Send, Step


class Part(Message, frozen=True, tag="toy.part"):
    index: int


class Junk(Message, frozen=True, tag="toy.junk"):
    pass


class InOrder(Protocol):
    """``a0`` must use parts 0, 1, ..., k-1 in that order; agent ``a{j}`` sends part k-j.

    Agents start in order, so part k-1 is sent first and part 0 last: over an ideal
    network ``a0`` receives them in reverse and can only finish by deferring.
    ``a0``'s state is the number of parts used. Junk is never usable: it is deferred
    forever (for testing the queue bound). Every other agent decides at start.
    """

    name = "toy-in-order"
    message_types = (Part, Junk)

    def __init__(self, parts: int = 3, junk: int = 0) -> None:
        super().__init__(Membership.of_size(parts + 1 + (1 if junk else 0)))
        self.parts = parts
        self.junk = junk

    def on_start(self, agent: AgentId) -> Step:
        if agent == "a0":
            return Step(0)
        j = self.membership.index(agent)
        if j > self.parts:  # the junk sender
            return Step(0, tuple(Send("a0", Junk(session=self.session, sender=agent))
                                 for _ in range(self.junk)) + (Decide("done"),))
        part = Part(session=self.session, sender=agent, index=self.parts - j)
        return Step(0, (Send("a0", part), Decide("done")))

    def on_message(self, agent: AgentId, state: int, message: Message) -> Step:
        if isinstance(message, Junk) or message.index > state:
            return Step(state, (Defer(message),))
        used = state + 1
        return Step(used, (Decide("done"),) if used == self.parts else ())


class Churn(InOrder):
    """A misbehaving node: it changes its state *and* defers every message (never consumes one)."""

    name = "toy-churn"

    def on_message(self, agent: AgentId, state: int, message: Message) -> Step:
        return Step(state + 1, (Defer(message),))
