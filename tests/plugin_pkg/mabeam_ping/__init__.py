"""A two-agent ping: the pinger asks, the ponger answers, both decide ``"pong"``.

It exists to be installed as a separate distribution: mabeam must find it
through the ``mabeam.protocols`` entry point and run every verb on it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from mabeam import (
    AgentId,
    Decide,
    Membership,
    Message,
    Protocol,
    ProtocolEntry,
    Send,
    Snapshot,
    Step,
    always,
    eventually,
    mutant,
)
from mabeam.core.properties import agreement_holds


class Ping(Message, frozen=True, tag="ping.ping"):
    pass


class Pong(Message, frozen=True, tag="ping.pong"):
    pass


class PingState(msgspec.Struct, frozen=True):
    phase: str  # waiting | done


@always("PING-S1", "Agreement", reads=("decisions",))
def agreement(snap: Snapshot) -> bool:
    return agreement_holds(snap)


@eventually("PING-L1", "Both decide", reads=("decisions", "crashed"))
def both_decide(snap: Snapshot) -> bool:
    decided = {d.agent for d in snap.decisions}
    return all(a in decided for a in snap.correct)


class PingPong(Protocol):
    name = "ping"
    message_types = (Ping, Pong)
    properties = (agreement, both_decide)

    def on_start(self, agent: AgentId) -> Step:
        pinger, ponger = self.agents
        if agent == pinger:
            return Step(PingState("waiting"), (Send(ponger, Ping(session=self.session, sender=agent)),))
        return Step(PingState("waiting"))

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        if state.phase == "done":
            return Step(state)
        effects: tuple[Any, ...] = (Decide(self.answer()),)
        if isinstance(message, Ping):
            effects = (Send(message.sender, Pong(session=self.session, sender=agent)), *effects)
        return Step(PingState("done"), effects)

    def answer(self) -> str:
        return "pong"


class WrongAnswer(PingPong):
    """The ponger decides something else than the pinger."""

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        step = super().on_message(agent, state, message)
        if isinstance(message, Ping):
            return Step(step.state, (*step.effects[:-1], Decide("ping")))
        return step


def build(agents: int, faulty: int = 0, cls: type[PingPong] = PingPong) -> PingPong:
    return cls(Membership.of_size(2))


ENTRY = ProtocolEntry(
    name="ping", summary="two agents: ping, pong, both decide (an installed plugin)", fault_model="crash",
    factory=build, properties=(agreement, both_decide),
    mutants=(mutant(WrongAnswer, "wrong-answer", "the ponger decides 'ping'", ("PING-S1",), build=build),),
    default_agents=2, default_faulty=0, check_defaults={"network": "multiset"})
