"""PBFT authentication, configuration and the normal case, step by step (PBFT-S1, S5, A1)."""

from __future__ import annotations

import pytest

from mabeam.core import Broadcast, Decide, Defer, Evidence, InsufficientReplicasError, Membership, Reject
from mabeam.core.auth import signing_bytes
from mabeam.protocols.pbft import (
    Ed25519Authenticator,
    SymbolicAuthenticator,
    build,
    equivocation,
    make_config,
    verify_evidence,
)
from mabeam.protocols.pbft.config import PBFTConfig
from mabeam.protocols.pbft.messages import Commit, Prepare, PrePrepare, request_digest


@pytest.mark.parametrize("scheme", [SymbolicAuthenticator, Ed25519Authenticator])
def test_signatures_bind_every_field_and_only_the_key_holder_can_sign(scheme) -> None:
    auth = scheme(["a0", "a1"])
    signed = auth.signer("a0").sign(Prepare(session="s0", sender="a0", view=0, seq=1, digest=b"d"))
    assert auth.verify(signed)
    for change in ({"view": 1}, {"seq": 2}, {"digest": b"e"}, {"session": "s1"}, {"sender": "a1"}):
        assert not auth.verify(signed.replace(**change))
    as_commit = Commit(session="s0", sender="a0", view=0, seq=1, digest=b"d", signature=signed.signature)
    assert not auth.verify(as_commit)  # the phase is bound too
    with pytest.raises(KeyError):
        auth.signer("a1").sign(Prepare(session="s0", sender="a0", view=0, seq=1, digest=b"d"))


def test_ed25519_keys_are_deterministic_per_seed() -> None:
    one, two = Ed25519Authenticator(["a0"], seed="k"), Ed25519Authenticator(["a0"], seed="k")
    message = Prepare(session="s0", sender="a0", view=0, seq=1, digest=b"d")
    assert two.verify(one.signer("a0").sign(message))
    assert not Ed25519Authenticator(["a0"], seed="other").verify(one.signer("a0").sign(message))


def test_ed25519_signatures_are_standard_and_malformed_ones_are_refused() -> None:
    """The libsodium path signs exactly what OpenSSL (``cryptography``) signs with the same key, and a
    truncated, overlong or bit-flipped signature is invalid, never an exception."""
    auth = Ed25519Authenticator(["a0"], seed="k")
    signed = auth.signer("a0").sign(Prepare(session="s0", sender="a0", view=0, seq=1, digest=b"d"))
    auth.public_keys["a0"].verify(signed.signature, signing_bytes(signed))  # raises if OpenSSL disagrees
    assert signed.signature == auth._private["a0"].sign(signing_bytes(signed))
    flipped = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    for bad in (signed.signature[:63], signed.signature + b"\0", flipped, b"\0" * 64):
        assert not auth.verify(signed.replace(signature=bad))


def test_n_below_3f_plus_1_is_refused() -> None:
    base = make_config(4)
    with pytest.raises(InsufficientReplicasError):
        PBFTConfig(membership=Membership.of_size(3), f=1, auth=base.auth, requesters=base.requesters,
                   requests=base.requests)
    with pytest.raises(InsufficientReplicasError):
        build(4, 2)


def _deliver_all(protocol, states, effects_by_agent):
    """Deliver broadcasts breadth-first until quiet; returns decisions and rejections."""
    queue = [(a, e.message) for a, effects in effects_by_agent.items() for e in effects
             if isinstance(e, Broadcast)]
    decided, rejected = [], []
    while queue:
        sender, message = queue.pop(0)
        for to in protocol.agents:
            if to == sender:
                continue
            step = protocol.receive(to, states[to], message)
            states[to] = step.state
            for e in step.effects:
                if isinstance(e, Broadcast):
                    queue.append((to, e.message))
                elif isinstance(e, Decide):
                    decided.append((to, e.instance, e.value))
                elif isinstance(e, Reject):
                    rejected.append(e.reason)
    return decided, rejected


def test_normal_case_decides_the_first_request_everywhere() -> None:
    protocol = build(4, 1)
    starts = {a: protocol.start(a) for a in protocol.agents}
    states = {a: s.state for a, s in starts.items()}
    decided, _ = _deliver_all(protocol, states, {a: s.effects for a, s in starts.items()})
    assert sorted(decided) == [(a, 1, "x") for a in protocol.agents]
    assert all(states[a].stable_seq == 1 and states[a].slots == () for a in protocol.agents)


def test_rejections_are_counted_and_never_replace_a_vote() -> None:
    protocol = build(4, 1)
    cfg = protocol.config
    state = protocol.start("a1").state
    request = cfg.requests[0]
    pp = protocol.signer("a0").sign(PrePrepare(session="s0", sender="a0", view=0, seq=1,
                                               digest=request_digest(request), request=request))
    state = protocol.receive("a1", state, pp).state
    cases = {
        "unknown-sender": pp.replace(sender="zz"),
        "wrong-session": pp.replace(session="other"),
        "bad-signature": pp.replace(digest=b"x" * 16),
        "not-primary": protocol.signer("a2").sign(pp.replace(sender="a2", signature=b"")),
        "outside-watermarks": protocol.signer("a0").sign(pp.replace(seq=9, signature=b"")),
        "stale-view": protocol.signer("a0").sign(pp.replace(view=-1, signature=b"")),
    }
    for reason, message in cases.items():
        step = protocol.receive("a1", state, message)
        assert step.state is state and [e.reason for e in step.effects] == [reason]
    # a message for a view the replica may still enter is deferred, not rejected
    future = protocol.signer("a1").sign(Prepare(session="s0", sender="a1", view=1, seq=1, digest=pp.digest))
    step = protocol.receive("a2", protocol.start("a2").state, future)
    assert [type(e) for e in step.effects] == [Defer]
    early = protocol.signer("a1").sign(Prepare(session="s0", sender="a1", view=0, seq=1, digest=pp.digest))
    fresh = protocol.start("a2").state
    step = protocol.receive("a2", fresh, early)
    assert step.state is fresh and step.effects == (Defer(early),)  # before its pre-prepare
    other = cfg.requests[1]
    conflict = protocol.signer("a0").sign(PrePrepare(session="s0", sender="a0", view=0, seq=1,
                                                     digest=request_digest(other), request=other))
    step = protocol.receive("a1", state, conflict)
    assert step.state is state
    (evidence,) = [e for e in step.effects if isinstance(e, Evidence)]
    assert evidence.against == "a0" and verify_evidence(evidence, cfg.auth)
    assert state.slot(0, 1).pre_prepare == pp  # the first pre-prepare stays


def test_forged_or_honest_pairs_are_not_evidence() -> None:
    auth = SymbolicAuthenticator(["a0", "a1"])
    a = auth.signer("a0").sign(Commit(session="s0", sender="a0", view=0, seq=1, digest=b"x"))
    b = auth.signer("a0").sign(Commit(session="s0", sender="a0", view=0, seq=1, digest=b"y"))
    assert verify_evidence(equivocation(a, b), auth)
    assert not verify_evidence(equivocation(a, b.replace(signature=b"\0" * 16)), auth)
    assert not verify_evidence(equivocation(a, a), auth)
    later = auth.signer("a0").sign(Commit(session="s0", sender="a0", view=1, seq=1, digest=b"y"))
    assert not verify_evidence(equivocation(a, later), auth)  # different views do not conflict
    framed = Evidence("equivocation", "a1", (a, b))
    assert not verify_evidence(framed, auth)


def test_a_renamed_message_is_signed_by_its_new_sender_and_a_forgery_stays_invalid() -> None:
    """``rename_signature`` (what symmetry reduction would call): nested messages are renamed on their own."""
    replica = build(4, 1)
    sign = replica.signer
    pp = sign("a0").sign(PrePrepare(session="s0", sender="a0", view=0, seq=1,
                                    digest=request_digest(replica.config.requests[0]),
                                    request=replica.config.requests[0]))
    prepare = sign("a1").sign(Prepare(session="s0", sender="a1", view=0, seq=1, digest=pp.digest, pre_prepare=pp))
    renamed = prepare.replace(sender="a2")
    resigned = replica.rename_signature(prepare, renamed)
    assert replica.auth.verify(resigned) and resigned.sender == "a2" and resigned.pre_prepare == pp
    forged = Commit(session="s0", sender="a1", view=0, seq=1, digest=pp.digest, signature=b"\x00" * 16)
    assert not replica.auth.verify(replica.rename_signature(forged, forged.replace(sender="a2")))
    assert replica.symmetry() == () and not replica.sends_no_more(replica.start("a1").state)
