"""Weighted voting, Byzantine mode (``tla/Weighted.tla``, ``mabeam.protocols.weighted``).

=================  ==========================================================
spec variable      the code
=================  ==========================================================
``tally[a][b]``    ``WeightedState.votes[b]`` (``None`` -> ``"none"``), for the
                   honest ``a`` (observed as ``[a \\in Honest |-> tally[a]]``)
``refused[a]``     ``WeightedState.refused`` (the conflicting votes not counted)
``decided[a]``     ``WeightedState.decided`` (``None`` -> ``"none"``)
``msgs``           every member's vote ever sent, ``[sender, value]`` (the spec's
                   broadcast set; an honest vote from ``Init``, a Byzantine one
                   from the step that sent it, or, in a checker trace, from the
                   step that first delivered it)
``decisions``      every ``<<agent, value>>`` decided so far
=================  ==========================================================

Abstracted: the Byzantine agent's own tally (it runs no honest code: unobserved),
the ``support`` cache (a function of ``votes``), the phase (``decided # None``),
weights in units, recipients (a vote in ``msgs`` may reach anyone), the intruder
(screened before the machine). A code step is one spec step, or several when a
Byzantine agent sends votes for several values at once, or when a checker trace
delivers a Byzantine vote (``ByzantineVote`` first, then ``Receive``).
Configuration: ``tla/Weighted.cfg`` = ``weighted.build(4, 1)``, ``a3`` Byzantine.
"""

from __future__ import annotations

from typing import Any

from ...core.protocol import Protocol
from ...protocols.weighted import WeightedVoting
from ...protocols.weighted import build as weighted
from ...protocols.weighted.messages import Vote
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation
from ..values import Record

NONE = "none"


class WeightedMapping(Mapping):
    protocol = "weighted"
    module = "Weighted"
    fields = (
        Field("tally", "[a \\in Honest |-> tally[a]]", "agents"),
        Field("refused", "[a \\in Honest |-> refused[a]]", "agents"),
        Field("decided", "[a \\in Honest |-> decided[a]]", "agents"),
        Field("msgs", "msgs", "grow"),
        Field("decisions", "decisions", "grow"),
    )
    max_substeps = 2

    def instance_key(self, protocol: Protocol) -> Any:
        assert isinstance(protocol, WeightedVoting)
        return protocol.inputs, protocol.weights

    def configurations(self) -> dict[str, Configuration]:
        return {"Weighted": Configuration("Weighted", lambda: weighted(4, 1), byzantine=frozenset({"a3"}))}

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, WeightedVoting)
        agents = protocol.agents
        honest = [a for a in agents if a not in obs.byzantine]
        return {
            "tally": {a: {b: v or NONE for b, v in zip(agents, obs.nodes[a].votes)} for a in honest},
            "refused": {a: frozenset(obs.nodes[a].refused) for a in honest},
            "decided": {a: obs.nodes[a].decided or NONE for a in honest},
            "msgs": frozenset(Record(sender=m.sender, value=m.value) for m in obs.sent
                              if isinstance(m, Vote) and m.sender in agents),
            "decisions": frozenset((d.agent, d.value) for d in obs.decisions if d.agent in honest),
        }
