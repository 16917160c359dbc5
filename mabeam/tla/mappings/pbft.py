"""PBFT (``tla/Pbft.tla``, ``mabeam.protocols.pbft``), for one sequence number.

=================  ==========================================================
spec variable      the code (per honest replica, ``ReplicaState``; values are the
                   requests' operations, read back from digests)
=================  ==========================================================
``view[r]``        ``view``
``phase[r]``       ``phase``
``accepted[r]``    ``<<view, value>>`` of the pre-prepare logged in the slot
                   ``(view, 1)``, or ``<<>>``; once a checkpoint is stable the code
                   drops the slot, so this is observed as ``IF stable[r] THEN <<>>
                   ELSE accepted[r]``
``prepared[r]``    ``prepared_log`` as ``<<view, value>>`` pairs
``committed[r]``   ``committed_log`` likewise
``decided[r]``     the value executed at sequence number 1 (``state_digest`` after
                   ``last_executed = 1``: by execution or by state transfer)
``stable[r]``      ``stable_seq = 1``
``suspected[r]``   ``suspected``
``highest[r]``     ``highest_view``
``sent``           observed as its honest part ``{m \\in sent : m.sender \\in
                   Honest}``: every PRE-PREPARE, PREPARE, COMMIT, CHECKPOINT,
                   VIEW-CHANGE (its prepared certificate as ``[view, value]``, its
                   stable checkpoint as the value) and NEW-VIEW (as its outcome:
                   re-proposed value and stable checkpoint, plus the new primary's
                   PRE-PREPARE of the re-proposal) an honest replica sent
=================  ==========================================================

Unobserved: ``adopted`` (which replicas executed from a commit certificate: TLC
finds it), the Byzantine primary's messages (all in ``Init``'s ``ByzantineMsgs``),
timers, the watermarks, client requests and the DECIDED answers (catch-up is
abstracted to the commit certificate, whose signed parts are in ``sent``). A
code step may be several spec steps: a PREPARE that completes the prepared
certificate when the commits are already in (``Prepared``, ``Commit``), a
NEW-VIEW installed and its re-proposal accepted, the new primary proposing.
Configuration: ``tla/Pbft.cfg`` = ``pbft.build(4, 1, max_view=1, max_seq=1,
checkpoint_interval=1)``, the view-0 primary ``a0`` Byzantine.
"""

from __future__ import annotations

from typing import Any

from ...core.errors import ConfigurationError
from ...core.protocol import Protocol
from ...protocols.pbft import PBFTReplica
from ...protocols.pbft import build as pbft
from ...protocols.pbft.messages import (
    GENESIS_DIGEST,
    Checkpoint,
    Commit,
    NewView,
    Prepare,
    PrePrepare,
    ViewChange,
    chain_digest,
    request_digest,
    request_value,
)
from ..mapping import Configuration, Field, Mapping
from ..observe import Observation
from ..values import Record

NONE = "none"


def build_checked() -> PBFTReplica:
    return pbft(4, 1, max_view=1, max_seq=1, checkpoint_interval=1)


class PbftMapping(Mapping):
    protocol = "pbft"
    module = "Pbft"
    fields = (
        Field("view", "[r \\in Honest |-> view[r]]", "agents"),
        Field("phase", "[r \\in Honest |-> phase[r]]", "agents"),
        Field("accepted", "[r \\in Honest |-> IF stable[r] THEN <<>> ELSE accepted[r]]", "agents"),
        Field("prepared", "[r \\in Honest |-> prepared[r]]", "agents"),
        Field("committed", "[r \\in Honest |-> committed[r]]", "agents"),
        Field("decided", "[r \\in Honest |-> decided[r]]", "agents"),
        Field("stable", "[r \\in Honest |-> stable[r]]", "agents"),
        Field("suspected", "[r \\in Honest |-> suspected[r]]", "agents"),
        Field("highest", "[r \\in Honest |-> highest[r]]", "agents"),
        Field("sent", "{m \\in sent : m.sender \\in Honest}", "grow"),
    )
    max_substeps = 4
    #: a faulty run: the Byzantine primary says little, so the view-change timer (10 s) fires and the
    #: honest replicas change to view 1 (most seeds), after it sent some equivocating pre-prepares
    horizon = 25.0
    byzantine_share = 0.15

    def configurations(self) -> dict[str, Configuration]:
        return {"Pbft": Configuration("Pbft", build_checked, byzantine=frozenset({"a0"}))}

    def instance_key(self, protocol: Protocol) -> Any:
        assert isinstance(protocol, PBFTReplica)
        c = protocol.config
        return (c.f, c.requesters, tuple((r.timestamp, r.operation) for r in c.requests), c.checkpoint_interval,
                c.watermark_window, c.max_view, c.max_seq, c.base_timeout, c.adversary)

    def mutant_instance(self, mutant: Any, faults: bool) -> Protocol | None:
        """The mutant's replica class at Pbft.cfg's bounds (the registry checks PBFT at others)."""
        return pbft(4, 1, cls=mutant.machine, max_view=1, max_seq=1, checkpoint_interval=1)

    def checker_configuration(self, model: Any) -> Configuration:
        config = model.protocol.config
        if config.max_seq != 1 or config.checkpoint_interval != 1 or config.max_view > 1:
            raise ConfigurationError("tla/Pbft.cfg models one sequence number, checkpoint interval 1, views 0..1; "
                                     f"this check has max_seq={config.max_seq}, checkpoint_interval="
                                     f"{config.checkpoint_interval}, max_view={config.max_view}")
        return super().checker_configuration(model)

    def state(self, protocol: Protocol, obs: Observation) -> dict[str, Any]:
        assert isinstance(protocol, PBFTReplica)
        requests = protocol.config.requests
        by_digest = {request_digest(r): r.operation for r in requests}
        by_state = {chain_digest(GENESIS_DIGEST, r.operation): r.operation for r in requests}
        honest = [a for a in protocol.agents if a not in obs.byzantine]
        nodes = obs.nodes

        def pairs(log: frozenset[tuple[int, int, bytes]]) -> frozenset[tuple[int, str]]:
            return frozenset((v, by_digest.get(d, request_value(None))) for v, s, d in log if s == 1)

        def accepted(r: str) -> tuple[Any, ...]:
            state = nodes[r]
            pp = state.slot(state.view, 1).pre_prepare
            if state.stable_seq >= 1 or pp is None:
                return ()
            return (pp.view, request_value(pp.request))

        def decided(r: str) -> str:
            state = nodes[r]
            if state.last_executed < 1:
                return NONE
            return by_state.get(state.state_digest, request_value(None))

        sent = set()
        for m in obs.sent:
            if m.sender not in honest:
                continue
            sent |= self._abstract(m, by_digest, by_state)
        return {
            "view": {r: nodes[r].view for r in honest},
            "phase": {r: nodes[r].phase for r in honest},
            "accepted": {r: accepted(r) for r in honest},
            "prepared": {r: pairs(nodes[r].prepared_log) for r in honest},
            "committed": {r: pairs(nodes[r].committed_log) for r in honest},
            "decided": {r: decided(r) for r in honest},
            "stable": {r: nodes[r].stable_seq >= 1 for r in honest},
            "suspected": {r: frozenset(nodes[r].suspected) for r in honest},
            "highest": {r: nodes[r].highest_view for r in honest},
            "sent": frozenset(sent),
        }

    @staticmethod
    def _abstract(m: Any, by_digest: dict[bytes, str], by_state: dict[bytes, str]) -> set[Record]:
        """An honest replica's signed message as the spec's record(s)."""
        null = request_value(None)
        if isinstance(m, PrePrepare) and m.seq == 1:
            return {Record(type="preprepare", view=m.view, sender=m.sender, value=request_value(m.request))}
        if isinstance(m, (Prepare, Commit)) and m.seq == 1:
            kind = "prepare" if isinstance(m, Prepare) else "commit"
            return {Record(type=kind, view=m.view, sender=m.sender, value=by_digest.get(m.digest, null))}
        if isinstance(m, Checkpoint) and m.seq == 1:
            return {Record(type="checkpoint", sender=m.sender, value=by_state.get(m.digest, null))}
        if isinstance(m, ViewChange):
            return {PbftMapping._view_change(m, by_state)}
        if isinstance(m, NewView):
            best = max(m.view_changes, key=lambda vc: vc.stable_seq, default=None)
            ckpt = (by_state.get(best.checkpoint_proof[0].digest, null)
                    if best is not None and best.stable_seq >= 1 else NONE)
            reproposed = [pp for pp in m.pre_prepares if pp.seq == 1]
            value = request_value(reproposed[0].request) if reproposed else NONE
            out = {Record(type="newview", view=m.view, sender=m.sender, value=value, ckpt=ckpt)}
            if value != NONE:
                out.add(Record(type="preprepare", view=m.view, sender=m.sender, value=value))
            return out
        return set()  # client requests, DECIDED answers: not modelled

    @staticmethod
    def _view_change(m: ViewChange, by_state: dict[bytes, str]) -> Record:
        null = request_value(None)
        if m.stable_seq >= 1:
            return Record(type="viewchange", view=m.view, sender=m.sender, cert=frozenset(),
                          ckpt=by_state.get(m.checkpoint_proof[0].digest, null))
        certs = frozenset(Record(view=c.pre_prepare.view, value=request_value(c.pre_prepare.request))
                          for c in m.prepared if c.pre_prepare.seq == 1)
        return Record(type="viewchange", view=m.view, sender=m.sender, cert=certs, ckpt=NONE)
