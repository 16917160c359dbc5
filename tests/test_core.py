"""The protocol core: identities, canonical messages, effects, seeded randomness, phase graphs."""

from __future__ import annotations

import math
import subprocess
import sys

import msgspec
import pytest

from mabeam.core import (
    DuplicateAgentError,
    EmptyAgentPoolError,
    MalformedMessageError,
    Membership,
    Message,
    MessageCodec,
    PhaseGraph,
    PhaseTransition,
    Reject,
    SeededRandom,
    UndeclaredTransitionError,
    UnknownAgentError,
)
from mabeam.protocols.majority import MajorityVoting, Vote


class Ping(Message, frozen=True, tag="test.ping"):
    round: int
    payload: tuple[str, ...] = ()
    seen: frozenset[str] = frozenset()


# ------------------------------------------------------------------ identities
def test_membership_rejects_empty_duplicate_and_invalid_ids() -> None:
    with pytest.raises(EmptyAgentPoolError):
        Membership([])
    with pytest.raises(EmptyAgentPoolError):
        Membership.of_size(0)
    with pytest.raises(DuplicateAgentError, match="a1"):
        Membership(["a0", "a1", "a1"])
    with pytest.raises(EmptyAgentPoolError, match="invalid agent id"):
        Membership(["ok", "has space"])
    with pytest.raises(EmptyAgentPoolError):
        Membership(["a0", 7])  # type: ignore[list-item]


def test_membership_lookup_and_unknown_agent() -> None:
    group = Membership.of_size(3)
    assert group.agents == ("a0", "a1", "a2")
    assert group.index("a2") == 2 and "a1" in group and "zz" not in group
    assert group.others("a1") == ("a0", "a2")
    with pytest.raises(UnknownAgentError, match="zz"):
        group.index("zz")
    with pytest.raises(KeyError):  # UnknownAgentError is also a KeyError
        group.require("zz")


# ------------------------------------------------------------------ messages
def test_messages_are_hashable_values_with_canonical_bytes() -> None:
    a = Ping(session="s", sender="a0", round=1, seen=frozenset({"x", "y", "z"}))
    b = Ping(session="s", sender="a0", round=1, seen=frozenset({"z", "y", "x"}))
    assert a == b and hash(a) == hash(b)
    assert a.canonical() == b.canonical()
    assert a.canonical() != a.replace(round=2).canonical()
    with pytest.raises(AttributeError):
        a.round = 5  # type: ignore[misc]


def test_canonical_bytes_are_stable_across_processes() -> None:
    """Set ordering depends on PYTHONHASHSEED; the canonical encoding must not."""
    code = ("from mabeam.core import canonical_bytes;"
            "print(canonical_bytes(frozenset({'alpha','beta','gamma','delta'})).hex())")
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": seed, "PATH": ""}).stdout
               for seed in ("1", "2", "3")}
    assert len(outputs) == 1


def test_codec_round_trip_and_typed_errors() -> None:
    codec = MessageCodec([Ping, Vote])
    msg = Ping(session="s", sender="a0", round=3, payload=("p", "q"))
    assert codec.decode(codec.encode(msg)) == msg
    assert codec.from_json(codec.to_json(msg)) == msg
    bad_inputs = [
        b"",  # empty
        b"\xc1",  # reserved msgpack byte
        b"\x81\xa3foo\x01",  # no tag
        Vote(session="s", sender="a0", value="x").canonical()[:-3],  # truncated
        Ping(session="s", sender="a0", round=1).canonical().replace(b"test.ping", b"test.pong"),  # unknown tag
    ]
    for data in bad_inputs:
        with pytest.raises(MalformedMessageError):
            codec.decode(data)
    # a field of the wrong type is rejected, not coerced
    forged = msgspec.msgpack.encode({"type": "test.ping", "session": "s", "sender": "a0", "round": "1"})
    with pytest.raises(MalformedMessageError, match="round"):
        codec.decode(forged)
    with pytest.raises(MalformedMessageError):
        codec.decode("not bytes")  # type: ignore[arg-type]
    with pytest.raises(MalformedMessageError):
        MessageCodec([Vote]).encode(msg)


# ------------------------------------------------------------------ screening
def test_protocol_screens_foreign_wrong_session_unknown_and_own_messages() -> None:
    protocol = MajorityVoting(Membership.of_size(3), {"a0": "x", "a1": "x", "a2": "y"}, session="s1")
    state = protocol.start("a0").state
    cases = {
        "foreign-message-type": Ping(session="s1", sender="a1", round=0),
        "wrong-session": Vote(session="other", sender="a1", value="x"),
        "unknown-sender": Vote(session="s1", sender="mallory", value="x"),
        "own-message": Vote(session="s1", sender="a0", value="y"),
    }
    for reason, message in cases.items():
        step = protocol.receive("a0", state, message)
        assert step.state is state
        assert step.effects == (Reject(reason, message),)
    with pytest.raises(UnknownAgentError):
        protocol.start("mallory")


# ------------------------------------------------------------------ randomness
def test_seeded_random_is_deterministic_and_derivable() -> None:
    first = [SeededRandom(42).random() for _ in range(3)]
    assert first[0] == first[1] == first[2]
    assert SeededRandom(42).random() != SeededRandom(43).random()
    root = SeededRandom(7)
    child_before = root.derive("net").random()
    root.random()
    root.random()
    assert root.derive("net").random() == child_before  # independent of use of the parent
    assert root.derive("net").random() != root.derive("timers").random()
    assert not math.isnan(child_before)


# ------------------------------------------------------------------ phases
def test_phase_graph_accepts_declared_and_refuses_undeclared_moves() -> None:
    graph = PhaseGraph("demo", ["idle", "busy", "done"], "idle", [
        PhaseTransition("begin", "idle", "busy"),
        PhaseTransition("finish", "busy", "done", "all acks"),
    ])
    assert graph.check("idle", "begin", "busy") == "busy"
    assert graph.allows("busy", "finish", "done")
    with pytest.raises(UndeclaredTransitionError, match="done --begin--> idle"):
        graph.check("done", "begin", "idle")
    assert "busy --> done: finish [all acks]" in graph.mermaid()


def test_property_memos_release_finished_sessions() -> None:
    """Memoised verdicts are held per protocol instance and dropped with it (no growth across sessions)."""
    import gc

    from mabeam.api.session import run_protocol
    from mabeam.core.memo import ProtocolMemo
    from mabeam.protocols.iterative import build, validity

    for seed in range(3):
        assert run_protocol(build(4, 1), seed=seed).status == "decided"
    gc.collect()
    assert validity.predicate.memo.tables() == 0

    class Owner:
        pass

    memo, owner = ProtocolMemo(limit=2), Owner()
    assert [memo.get(owner, k, lambda k=k: k * 10) for k in (1, 2, 3, 3)] == [10, 20, 30, 30]
    assert memo.tables() == 1
    del owner
    gc.collect()
    assert memo.tables() == 0
