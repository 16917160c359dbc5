"""Majority voting (``tla/Majority.tla``, ``mabeam.protocols.majority``).

=================  ==========================================================
spec variable      the code
=================  ==========================================================
``tally[a]``       ``{<<member, vote>>}`` of ``MajorityState.votes`` (the counted
                   votes, own included); ``support`` is their count per value, and
                   support beyond it was counted from a non-member: it maps to
                   ``<<"intruder", value>>`` (a state the spec never reaches)
``decided[a]``     ``MajorityState.decided`` (``None`` -> ``"none"``)
``crashed``        the run's crashed agents
``msgs``           observed as ``msgs \\cap MemberVotes``: the members' votes in
                   flight to agents that have not crashed (a vote to a crashed
                   agent is lost with it, as ``Crash`` discards it)
``decisions``      every ``<<agent, value>>`` decided so far
=================  ==========================================================

Abstracted: the intruder's forged votes are the unobserved part of ``msgs`` (TLC
keeps ``ForgedVotes`` in flight; delivering one is a screened no-op in both); the
session id. One code step is one spec step (a delivery, a crash) or a stutter.
Configuration: ``tla/Majority.cfg`` = ``majority.build(3, 1)``, crashes F = 1.
"""

from __future__ import annotations

from typing import Any

from ...core.protocol import Protocol
from ...live.network import Latency, NetworkModel
from ...protocols.majority import MajorityVoting
from ...protocols.majority import build as majority
from ...protocols.majority.messages import Vote
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation
from ..values import Record

NONE = "none"
INTRUDER = "intruder"  # Majority.cfg's Intruders


def tally(agents: tuple[str, ...], state: Any) -> frozenset[tuple[str, str]]:
    """The counted votes: the members' from ``votes``; support beyond them was counted from a
    non-member, which only the intruder can be (the spec's screening never counts one)."""
    counted = {(m, v) for m, v in zip(agents, state.votes) if v is not None}
    for value, support in state.support:
        if support > sum(1 for _, v in counted if v == value):
            counted.add((INTRUDER, value))
    return frozenset(counted)


class MajorityMapping(Mapping):
    protocol = "majority"
    module = "Majority"
    fields = (
        Field("tally", "tally", "agents"),
        Field("decided", "decided", "agents"),
        Field("crashed", "crashed"),
        Field("msgs", "msgs \\cap MemberVotes"),
        Field("decisions", "decisions", "grow"),
    )

    def configurations(self) -> dict[str, Configuration]:
        return {"Majority": Configuration("Majority", lambda: majority(3, 1), crashes=1)}

    def network(self) -> NetworkModel:
        return NetworkModel(latency=Latency.lognormal(0.01, 0.6))  # the multiset network: no duplicates

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, MajorityVoting)
        agents = protocol.agents
        members = set(agents)
        return {
            "tally": {a: tally(agents, obs.nodes[a]) for a in agents},
            "decided": {a: obs.nodes[a].decided or NONE for a in agents},
            "crashed": obs.crashed,
            "msgs": frozenset(Record(to=env.to, sender=env.message.sender, value=env.message.value)
                              for env in obs.in_flight if isinstance(env.message, Vote)
                              and env.message.sender in members and env.to not in obs.crashed),
            "decisions": frozenset((d.agent, d.value) for d in obs.decisions),
        }
