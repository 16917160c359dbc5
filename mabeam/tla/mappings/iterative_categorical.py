"""Categorical iterative refinement (``tla/IterativeCategorical.tla``, ``mabeam.protocols.iterative_categorical``).

=================  ==========================================================
spec variable      the code
=================  ==========================================================
``round[a]``       ``CategoricalState.round``
``answer[a]``      ``CategoricalState.answer``
``inbox[a]``       ``CategoricalState.inbox`` as ``<<round, sender, answer>>`` (the
                   confidence is the sender's fixed ``Conf``), for an agent not
                   stopped (the code empties a stopped agent's inbox, the spec
                   keeps it; neither reads it again)
``finals[a]``      ``CategoricalState.finals`` likewise (first round it stands for)
``streak[a]``      ``CategoricalState.streak``
``stopped``        the agents in phase ``done``
``crashed``        the run's crashed agents
``msgs``           every member's proposal ever sent, one record per recipient
                   ``[to, sender, round, answer, final]`` (a broadcast reaches every
                   other member; the network keeps every message)
``decisions``      ``<<agent, answer, round>>`` of every decision
=================  ==========================================================

Unobserved: ``last`` (the previous round's plurality; it is the last entry of the
code's ``history``, which the spec does not keep). Abstracted: the intruder
(screened), confidences as naturals. A code step is one spec step (a delivery, a
crash), or a delivery followed by the ``Refine`` steps it makes possible.
Configuration: ``tla/IterativeCategorical.cfg`` = ``iterative_categorical.build(3, 1)``,
crashes F = 1.
"""

from __future__ import annotations

from typing import Any

from ...core.protocol import Protocol
from ...protocols.iterative_categorical import CategoricalRefinement
from ...protocols.iterative_categorical import build as categorical
from ...protocols.iterative_categorical.messages import Proposal
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation
from ..values import Record


class CategoricalMapping(Mapping):
    protocol = "iterative-categorical"
    module = "IterativeCategorical"
    fields = (
        Field("round", "round", "agents"),
        Field("answer", "answer", "agents"),
        Field("inbox", "[a \\in Agents |-> IF a \\in stopped THEN {} ELSE inbox[a]]", "agents"),
        Field("finals", "finals", "agents"),
        Field("streak", "streak", "agents"),
        Field("stopped", "stopped", "grow"),
        Field("crashed", "crashed"),
        Field("msgs", "msgs", "grow"),
        Field("decisions", "decisions", "grow"),
    )
    max_substeps = 3

    def configurations(self) -> dict[str, Configuration]:
        return {"IterativeCategorical": Configuration("IterativeCategorical", lambda: categorical(3, 1), crashes=1)}

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, CategoricalRefinement)
        agents = protocol.agents
        nodes = obs.nodes
        msgs = frozenset(
            Record(to=t, sender=m.sender, round=m.round, answer=m.answer, final=m.final)
            for m in obs.sent if isinstance(m, Proposal) and m.sender in agents for t in agents if t != m.sender)
        return {
            "round": {a: nodes[a].round for a in agents},
            "answer": {a: nodes[a].answer for a in agents},
            "inbox": {a: frozenset((r, s, x) for r, s, x, _c in nodes[a].inbox) if nodes[a].phase != "done"
                      else frozenset() for a in agents},
            "finals": {a: frozenset((r, s, x) for r, s, x, _c in nodes[a].finals) for a in agents},
            "streak": {a: nodes[a].streak for a in agents},
            "stopped": frozenset(a for a in agents if nodes[a].phase == "done"),
            "crashed": obs.crashed,
            "msgs": msgs,
            "decisions": frozenset((d.agent, *d.value) for d in obs.decisions),
        }
