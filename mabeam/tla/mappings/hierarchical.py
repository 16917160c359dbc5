"""Hierarchical group certificates (``tla/Hierarchical.tla``, ``mabeam.protocols.hierarchical``).

=================  ==========================================================
spec variable      the code
=================  ==========================================================
``signed``         the member votes that exist: every honest member's vote for
                   its input (signed at start), and each ``<<b, v>>`` a Byzantine
                   member ``b`` put on the wire, bare or inside a certificate
                   (in a checker trace: from the first delivery carrying it)
``counted[j][g]``  the value of judge ``j``'s ``HierState.tally`` entry for group
                   ``g`` (``"none"`` if it counted none)
``refused[j]``     ``HierState.refused`` of judge ``j`` (group-equivocation)
``decided[j]``     ``HierState.decided`` of judge ``j``
=================  ==========================================================

Abstracted: members' and forwarders' states (collecting votes, certifying) are
unobserved: a certificate is modelled by the signed votes it could be built from,
so a forwarder's step is a stutter, and a judge's step counts a certificate iff
its quorum of signatures exists; invalid certificates (the Byzantine relays'
single-signature or altered-value ones) are refused by the judge in both, a
stutter. A code step is one spec step, or several when a Byzantine member's
step puts new signatures on the wire (``ByzantineSign`` each) before a judge
counts.
Configuration: ``tla/Hierarchical.cfg`` = ``hierarchical.build(12, 3)``, ``a3``,
``a6``, ``a7`` Byzantine.
"""

from __future__ import annotations

from typing import Any

from ...core.protocol import Protocol
from ...protocols.hierarchical import Hierarchical
from ...protocols.hierarchical import build as hierarchical
from ...protocols.hierarchical.messages import GroupCertificate, GroupVote
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation

NONE = "none"
BYZANTINE = frozenset({"a3", "a6", "a7"})


class HierarchicalMapping(Mapping):
    protocol = "hierarchical"
    module = "Hierarchical"
    fields = (
        Field("signed", "signed", "grow"),
        Field("counted", "counted", "agents"),
        Field("refused", "refused", "agents"),
        Field("decided", "decided", "agents"),
    )
    max_substeps = 3

    def configurations(self) -> dict[str, Configuration]:
        return {"Hierarchical": Configuration("Hierarchical", lambda: hierarchical(12, 3), byzantine=BYZANTINE)}

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, Hierarchical)
        members = [m for g in protocol.groups for m in g.members]
        signed = {(m, protocol.inputs[m]) for m in members if m not in obs.byzantine}
        for message in obs.sent:
            votes = (message,) if isinstance(message, GroupVote) else \
                message.votes if isinstance(message, GroupCertificate) else ()
            signed |= {(v.sender, v.value) for v in votes if v.sender in obs.byzantine and protocol.auth.verify(v)}
        groups = [g.name for g in protocol.groups]

        def counted(j: str) -> dict[str, str]:
            state = obs.nodes[j]
            return {g: (entry[1] if (entry := state.entry(g)) is not None else NONE) for g in groups}

        return {
            "signed": frozenset(signed),
            "counted": {j: counted(j) for j in protocol.judges},
            "refused": {j: frozenset(obs.nodes[j].refused) for j in protocol.judges},
            "decided": {j: obs.nodes[j].decided or NONE for j in protocol.judges},
        }
