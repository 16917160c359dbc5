"""Adaptive coordination (``tla/Adaptive.tla``, ``mabeam.protocols.adaptive``).

===================  ========================================================
spec variable        the code (per honest node, ``AdaptiveState``)
===================  ========================================================
``stage[a]``         ``stage``
``input[a]``         ``input`` (what it votes in its current stage)
``lock[a]``          ``lock`` as ``[stage, value]`` (``None`` -> ``NoLock``)
``committed[a]``     ``committed``, while undecided (observed as ``committed[a] /\\
                     outcome[a] = NoOutcome``: a concluded node's state keeps no
                     per-stage flags, the spec's keeps them unchanged)
``switched[a]``      ``switched # ""`` (it voted SWITCH in this stage), likewise
``outcome[a]``       ``outcome`` as ``[kind, stage, value]`` (``None`` -> ``NoOutcome``)
``evidence[a]``      ``evidence`` (members proven to have equivocated)
``switchlog[a]``     ``log``: per fallback, ``[source, certificate]`` (the senders of
                     the SWITCH votes it left on); the record's ``evidence`` is
                     left to TLC (the code logs its size; the spec's is
                     ``evidence[a]`` then, which is observed)
``msgs``             observed as its honest part ``{m \\in msgs : m.sender \\in Honest}``:
                     every Vote, Commit and SWITCH an honest node sent (a SWITCH
                     with its lock as ``[stage, value]``)
===================  ========================================================

Unobserved: the Byzantine member's messages (``Init`` holds every vote, commit and
lock-less SWITCH it can sign; ``ByzantineLockedSwitch`` adds a locked one when
TLC needs it), the per-stage vote/commit/switch sets (the spec reads ``msgs``),
refusals (a refused fallback is a stutter), the Alarm and Decided messages (the
spec's evidence comes from the conflicting votes, catch-up from the commits in
``msgs``). A code step takes several spec steps when one delivery locks and
decides, reveals an equivocation and locks, or completes a switch certificate
and enters the next stage (vote, maybe lock and decide there).
Configurations: ``tla/Adaptive.fallback.cfg`` = ``adaptive.checked(3, 0)`` (the
registry's default check, nobody Byzantine: fault-free runs and the checker's
traces) and ``tla/Adaptive.cfg`` = the evidence configuration with ``a1``'s input
``x``, ``a2`` Byzantine (runs with faults).
"""

from __future__ import annotations

from typing import Any

from ...core import Membership
from ...core.protocol import Protocol
from ...protocols.adaptive import AdaptiveCoordination, StageSpec, checked
from ...protocols.adaptive.messages import Commit, Switch, Vote
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation
from ..values import Record

NONE = "none"
NO_LOCK = Record(stage=0, value=NONE)
NO_OUTCOME = Record(kind="none", stage=0, value=NONE)


def evidence_instance() -> AdaptiveCoordination:
    """Adaptive.cfg's instance: weighted (2, 2, 1; faulty weight 1) -> majority (crash bound 0), inputs x, x, y."""
    names = Membership.of_size(3).agents
    return AdaptiveCoordination(Membership(names), dict(zip(names, ("x", "x", "y"))),
                                (StageSpec("weighted", weights=dict(zip(names, (2, 2, 1))), faulty_weight=1),
                                 StageSpec("majority", crash_bound=0)), deadline=10.0)


def _lock(lock: Any) -> Record:
    return NO_LOCK if lock is None else Record(stage=lock.stage, value=lock.value)


class AdaptiveMapping(Mapping):
    protocol = "adaptive"
    module = "Adaptive"
    fields = (
        Field("stage", "[a \\in Honest |-> stage[a]]", "agents"),
        Field("input", "[a \\in Honest |-> input[a]]", "agents"),
        Field("lock", "[a \\in Honest |-> lock[a]]", "agents"),
        Field("committed", "[a \\in Honest |-> committed[a] /\\ outcome[a] = NoOutcome]", "agents"),
        Field("switched", "[a \\in Honest |-> switched[a] /\\ outcome[a] = NoOutcome]", "agents"),
        Field("outcome", "[a \\in Honest |-> outcome[a]]", "agents"),
        Field("evidence", "[a \\in Honest |-> evidence[a]]", "agents"),
        Field("switchlog", "[a \\in Honest |-> [i \\in DOMAIN switchlog[a] |-> "
                           "[source |-> switchlog[a][i].source, certificate |-> switchlog[a][i].certificate]]]",
              "agents"),
        Field("msgs", "{m \\in msgs : m.sender \\in Honest}", "grow"),
    )
    max_substeps = 5
    horizon = 12.0

    def configurations(self) -> dict[str, Configuration]:
        return {
            "Adaptive.fallback": Configuration("Adaptive.fallback", lambda: checked(3, 0)),
            "Adaptive": Configuration("Adaptive", evidence_instance, byzantine=frozenset({"a2"})),
        }

    def instance_key(self, protocol: Protocol) -> Any:
        assert isinstance(protocol, AdaptiveCoordination)
        return protocol.inputs, tuple((s.kind, s.weights) for s in protocol.stages)

    def run_configuration(self, faults: bool) -> Configuration:
        return self.configurations()["Adaptive" if faults else "Adaptive.fallback"]

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, AdaptiveCoordination)
        honest = [a for a in protocol.agents if a not in obs.byzantine]
        nodes = obs.nodes

        def outcome(a: str) -> Record:
            o = nodes[a].outcome
            return NO_OUTCOME if o is None else Record(kind=o.kind, stage=o.stage, value=o.value or NONE)

        msgs = set()
        for m in obs.sent:
            if m.sender not in honest:
                continue
            if isinstance(m, Vote):
                msgs.add(Record(type="vote", sender=m.sender, stage=m.stage, value=m.value))
            elif isinstance(m, Commit):
                msgs.add(Record(type="commit", sender=m.sender, stage=m.stage, value=m.value))
            elif isinstance(m, Switch):
                msgs.add(Record(type="switch", sender=m.sender, stage=m.stage, lock=_lock(m.lock)))
        return {
            "stage": {a: nodes[a].stage for a in honest},
            "input": {a: nodes[a].input for a in honest},
            "lock": {a: _lock(nodes[a].lock) for a in honest},
            "committed": {a: nodes[a].committed and nodes[a].outcome is None for a in honest},
            "switched": {a: bool(nodes[a].switched) and nodes[a].outcome is None for a in honest},
            "outcome": {a: outcome(a) for a in honest},
            "evidence": {a: frozenset(nodes[a].evidence) for a in honest},
            "switchlog": {a: tuple(Record(source=r.source, certificate=frozenset(r.certificate))
                                   for r in nodes[a].log) for a in honest},
            "msgs": frozenset(msgs),
        }
