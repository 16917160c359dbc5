"""Catch-up by commit certificate, and evidence against an equivocating primary (spec/pbft.md)."""

from __future__ import annotations

import pytest

from mabeam.checker import ActorModel, CheckConfig, check
from mabeam.core import Decide, Evidence, Reject, Send
from mabeam.protocols.pbft import CATCH_UP_BOUNDS, ENTRY, PBFTReplica, build, build_checked, verify_evidence
from mabeam.protocols.pbft.messages import (
    Commit,
    CommitCertificate,
    Decided,
    Prepare,
    PrePrepare,
    ViewChange,
    request_digest,
)
from mabeam.protocols.pbft.state import ReplicaState


def _pp(protocol: PBFTReplica, index: int, view: int = 0, seq: int = 1) -> PrePrepare:
    request = protocol.config.requests[index]
    return protocol.signer(protocol.primary(view)).sign(PrePrepare(
        session="s0", sender=protocol.primary(view), view=view, seq=seq, digest=request_digest(request),
        request=request))


def _commits(protocol: PBFTReplica, pp: PrePrepare, senders: list[str]) -> tuple[Commit, ...]:
    return tuple(protocol.signer(a).sign(Commit(session="s0", sender=a, view=pp.view, seq=pp.seq, digest=pp.digest))
                 for a in senders)


def _decided(protocol: PBFTReplica, sender: str, cert: CommitCertificate) -> Decided:
    return protocol.signer(sender).sign(Decided(session="s0", sender=sender, seq=cert.seq, certificate=cert))


def _run(protocol: PBFTReplica, agent: str, state: ReplicaState, *messages: object) -> tuple[ReplicaState, list]:
    effects: list = []
    for m in messages:
        step = protocol.receive(agent, state, m)
        state, effects = step.state, effects + list(step.effects)
    return state, effects


def test_a_lagging_replica_adopts_a_valid_certificate_and_rejects_bad_ones() -> None:
    protocol = build(4, 1)
    x = _pp(protocol, 0)
    good = CommitCertificate(x, _commits(protocol, x, ["a0", "a1", "a2"]))
    state = protocol.start("a3").state
    bad = {
        "bad-certificate-quorum": CommitCertificate(x, good.commits[:2]),
        "bad-certificate-signature": CommitCertificate(x, good.commits[:2] + (
            good.commits[2].replace(signature=b"\0" * 16),)),
        "bad-certificate-commit": CommitCertificate(x, good.commits[:2] + _commits(
            protocol, _pp(protocol, 1), ["a2"])),
        "bad-certificate-senders": CommitCertificate(x, good.commits[:2] + good.commits[:1]),
        "bad-certificate-pre-prepare": CommitCertificate(x.replace(signature=b"\0" * 16), good.commits),
    }
    for reason, cert in bad.items():
        step = protocol.receive("a3", state, _decided(protocol, "a1", cert))
        assert step.state is state and [e.reason for e in step.effects] == [reason]
    state, effects = _run(protocol, "a3", state, _decided(protocol, "a1", good))
    assert [e for e in effects if isinstance(e, Decide)] == [Decide("x", 1)]
    assert state.last_executed == 1 and state.decision_proofs == (good,)
    step = protocol.receive("a3", state, _decided(protocol, "a2", good))  # adopted once
    assert step.state is state and [e.reason for e in step.effects] == ["already-decided"]


def test_a_decided_replica_answers_stale_traffic_and_view_changes() -> None:
    protocol = build(4, 1)
    x, y = _pp(protocol, 0), _pp(protocol, 1)
    state, _ = _run(protocol, "a1", protocol.start("a1").state, x,
                    *(protocol.signer(a).sign(Prepare(session="s0", sender=a, view=0, seq=1, digest=x.digest,
                                                     pre_prepare=x)) for a in ("a2",)),
                    *_commits(protocol, x, ["a0", "a2"]))
    assert state.last_executed == 1
    cert = state.decision_proofs[0]
    other = protocol.signer("a3").sign(Prepare(session="s0", sender="a3", view=0, seq=1, digest=y.digest,
                                              pre_prepare=y))
    _, effects = _run(protocol, "a1", state, other)
    answers = [e for e in effects if isinstance(e, Send)]
    assert answers == [Send("a3", _decided(protocol, "a1", cert))]
    same = protocol.signer("a2").sign(Commit(session="s0", sender="a2", view=0, seq=1, digest=x.digest))
    assert not [e for e in protocol.receive("a1", state, same).effects if isinstance(e, Send)]
    asking = protocol.signer("a3").sign(ViewChange(session="s0", sender="a3", view=1, stable_seq=0,
                                                  checkpoint_proof=(), prepared=()))
    assert Send("a3", _decided(protocol, "a1", cert)) in protocol.receive("a1", state, asking).effects


def test_a_forwarded_pre_prepare_exposes_an_equivocating_primary() -> None:
    protocol = build(4, 1)
    x, y = _pp(protocol, 0), _pp(protocol, 1)
    state, effects = _run(protocol, "a3", protocol.start("a3").state, y)
    assert any(isinstance(getattr(e, "message", None), Prepare) and e.message.pre_prepare == y for e in effects)
    forwarded = protocol.signer("a1").sign(Prepare(session="s0", sender="a1", view=0, seq=1, digest=x.digest,
                                                  pre_prepare=x))
    _, effects = _run(protocol, "a3", state, forwarded)
    (evidence,) = [e for e in effects if isinstance(e, Evidence)]
    assert evidence.against == "a0" and set(evidence.proof) == {x, y} and verify_evidence(evidence, protocol.auth)
    tampered = forwarded.replace(pre_prepare=y, signature=b"")
    step = protocol.receive("a3", state, protocol.signer("a1").sign(tampered))
    assert [e.reason for e in step.effects if isinstance(e, Reject)] == ["bad-forwarded-pre-prepare"]
    null = protocol.signer("a0").sign(PrePrepare(session="s0", sender="a0", view=0, seq=1,
                                                 digest=request_digest(None), request=None))
    effects = protocol.receive("a3", state, null).effects  # an unusable pre-prepare still convicts
    assert [e.against for e in effects if isinstance(e, Evidence)] == ["a0"]


@pytest.mark.slow
def test_catch_up_configuration_is_live_and_every_honest_replica_executes() -> None:
    """Lagging primary: PBFT-L1 (every honest replica executes) and PBFT-R4 (a certificate adopted)."""
    model = ActorModel(build_checked(4, 1, **CATCH_UP_BOUNDS),
                       CheckConfig(network="duplicating", byzantine=frozenset({"a0"})))
    result = check(model, ENTRY.properties)
    assert result.stats.complete
    statuses = {r.property.id: r.status for r in result.results}
    assert statuses["PBFT-L1"] == "holds" and statuses["PBFT-R4"] == "reached"
    assert all(statuses[p.id] == "holds" for p in ENTRY.properties if p.kind.value == "always"
               and statuses[p.id] != "not-checked")

