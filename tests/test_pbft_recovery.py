"""Crash-recover: PBFT's durable state, the checker's recover fault, PBFT-S9 and its mutant, the SQLite store,
and the runtime writing durable state before a message leaves."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mabeam.api.verify import build_model
from mabeam.checker import ActorModel, CheckConfig, check, replay_actions
from mabeam.core import Broadcast, ConfigurationError, Decide, Evidence, Message, Reject, SetTimer
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.pbft import (
    CATCH_UP_BOUNDS,
    ENTRY,
    VIEW_CHANGE_BOUNDS,
    Commit,
    Prepare,
    PrePrepare,
    ReplicaState,
    build,
    build_checked,
    request_digest,
)
from mabeam.runtime import AsyncRuntime, DurableLog, DurableStateError, InProcessTransport, SqliteStore
from mabeam.runtime.tcp import TcpTransport

SAFETY = [p.id for p in ENTRY.properties if p.kind.value == "always" and p.id != "PBFT-A2"]


def _pp(protocol: Any, index: int, view: int = 0, seq: int = 1) -> PrePrepare:
    request = protocol.config.requests[index]
    return protocol.signer(protocol.primary(view)).sign(PrePrepare(
        session="s0", sender=protocol.primary(view), view=view, seq=seq, digest=request_digest(request),
        request=request))


def _vote(protocol: Any, kind: type, sender: str, pp: PrePrepare) -> Any:
    return protocol.signer(sender).sign(kind(session="s0", sender=sender, view=pp.view, seq=pp.seq,
                                             digest=pp.digest))


# ------------------------------------------------------------------ what a replica keeps
def test_the_durable_part_keeps_what_the_replica_signed_and_the_certificates_it_holds() -> None:
    protocol = build(4, 1)
    x = _pp(protocol, 0)
    state = protocol.receive("a1", protocol.start("a1").state, x).state
    kept = protocol.durable("a1", state).slots[0]
    assert kept.pre_prepare == x and [p.sender for p in kept.prepares] == ["a1"] and kept.commits == ()
    for m in (_vote(protocol, Prepare, "a2", x), _vote(protocol, Commit, "a3", x)):
        state = protocol.receive("a1", state, m).state  # now prepared; a3's commit counted
    slot = state.slots[0]
    assert slot.prepared and {c.sender for c in slot.commits} == {"a1", "a3"}
    kept = protocol.durable("a1", state).slots[0]
    assert kept.prepared and {p.sender for p in kept.prepares} == {"a1", "a2"}  # the prepared certificate
    assert [c.sender for c in kept.commits] == ["a1"]  # its own commit; a3's alone proves nothing
    assert protocol.durable("a1", state).view_change_senders == frozenset()


def test_a_recovered_replica_re_sends_what_it_signed_and_refuses_to_sign_anything_else() -> None:
    protocol = build(4, 1)
    x, y = _pp(protocol, 0), _pp(protocol, 1)
    state = protocol.receive("a1", protocol.start("a1").state, x).state
    restarted = protocol.recover("a1", protocol.durable("a1", state))
    sent = [e.message for e in restarted.effects if isinstance(e, Broadcast)]
    assert [type(m) for m in sent] == [Prepare] and sent[0].digest == x.digest  # the same prepare, re-sent
    assert any(isinstance(e, SetTimer) for e in restarted.effects)
    step = protocol.receive("a1", restarted.state, y)  # the equivocating primary's other pre-prepare
    assert not any(isinstance(e, Broadcast) for e in step.effects)
    assert any(isinstance(e, Evidence) and e.against == "a0" for e in step.effects)
    assert any(isinstance(e, Reject) for e in step.effects)
    fresh = protocol.receive("a1", protocol.start("a1").state, y)  # what forgetting would have done
    assert any(isinstance(e, Broadcast) and isinstance(e.message, Prepare) for e in fresh.effects)


def test_a_recovered_replica_re_announces_what_it_decided() -> None:
    protocol = build(4, 1)
    x = _pp(protocol, 0)
    state = protocol.receive("a1", protocol.start("a1").state, x).state
    for sender in ("a2", "a3"):
        state = protocol.receive("a1", state, _vote(protocol, Prepare, sender, x)).state
    for sender in ("a0", "a2"):
        state = protocol.receive("a1", state, _vote(protocol, Commit, sender, x)).state
    assert state.last_executed == 1
    restarted = protocol.recover("a1", protocol.durable("a1", state))
    assert [e for e in restarted.effects if isinstance(e, Decide)] == [Decide("x", 1)]
    assert restarted.state.last_executed == 1 and not any(isinstance(e, SetTimer) for e in restarted.effects)
    assert protocol.recover("a1", None) == protocol.start("a1")  # nothing stored: start afresh


def test_the_default_protocol_keeps_nothing_and_restarts_afresh() -> None:
    protocol = MajorityVoting(["a0", "a1", "a2"], {"a0": "x", "a1": "x", "a2": "y"})
    state = protocol.start("a0").state
    assert protocol.durable("a0", state) is None and protocol.recover("a0", None) == protocol.start("a0")
    assert MajorityVoting.durable_type is None


# ------------------------------------------------------------------ the checker's crash-recover fault
def test_check_config_validates_the_recover_budget() -> None:
    for bad in (-1, True, 1.5):
        with pytest.raises(ConfigurationError):
            CheckConfig(max_crashes=1, max_recoveries=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="needs max_crashes"):
        CheckConfig(max_recoveries=1)  # a restart without a crash to follow


def test_forgetting_what_was_signed_is_caught_with_a_shortest_trace() -> None:
    """``forgets-on-crash`` keeps no durable state: 4 steps from the initial state (a1 prepares x, crashes,
    restarts afresh, prepares the Byzantine primary's y), a1 has signed two prepares."""
    model = build_model(ENTRY, mutant="forgets-on-crash")
    assert (model.config.max_crashes, model.config.max_recoveries) == (1, 1)
    result = check(model, ENTRY.properties)
    found = result.result_for("PBFT-S9")
    assert found.status == "violated" and found.trace is not None and len(found.trace) == 4
    actions = [s.action for s in found.trace.steps[1:]]
    assert [a.kind for a in actions] == ["deliver", "crash", "recover", "deliver"]  # type: ignore[union-attr]
    assert {a.agent for a in actions} == {"a1"}  # type: ignore[union-attr]
    text = found.trace.render(model.protocol.agents)
    assert "a1 crashes" in text and "a1 restarts from its durable state" in text
    replayed = replay_actions(build_model(ENTRY, mutant="forgets-on-crash"),
                              [step["action"] for step in found.trace.to_json()["steps"]])
    s9 = next(p for p in ENTRY.properties if p.id == "PBFT-S9")
    assert not s9.holds(model.snapshot(replayed.steps[-1].world))  # the recorded trace replays to the violation


def test_a_correct_replica_survives_a_crash_recover_fault_exhaustively() -> None:
    """The standard bounds (full Byzantine primary, duplicating network) plus one crash of any honest replica
    at any moment and its restart at any later one (or never): every safety property holds, PBFT-S9 included."""
    result = check(build_model(ENTRY, max_crashes=1, max_recoveries=1), ENTRY.properties)
    assert result.stats.complete and result.stats.distinct_states == 116_653
    for pid in SAFETY:
        assert result.result_for(pid).status == "holds", pid


def test_without_a_recover_budget_the_state_space_is_unchanged() -> None:
    result = check(build_model(ENTRY), ENTRY.properties)
    assert result.stats.complete and result.stats.distinct_states == 22_849
    assert result.result_for("PBFT-S9").status == "holds"


@pytest.mark.slow
@pytest.mark.parametrize("bounds, live", [(VIEW_CHANGE_BOUNDS, True), (CATCH_UP_BOUNDS, True)])
def test_view_changes_and_catch_up_survive_a_crash_recover_fault(bounds: dict[str, Any], live: bool) -> None:
    """A restarted replica (the next primary included) keeps every safety property and, under fairness,
    still executes: by the view change or by a commit certificate."""
    model = ActorModel(build_checked(4, 1, **bounds),
                       CheckConfig(network="duplicating", byzantine=frozenset({"a0"}), max_crashes=1,
                                   max_recoveries=1))
    result = check(model, ENTRY.properties)
    assert result.stats.complete
    for pid in SAFETY + (["PBFT-L1"] if live else []):
        assert result.result_for(pid).status == "holds", pid


# ------------------------------------------------------------------ the store
def test_the_sqlite_store_is_durable_and_refuses_states_it_cannot_restart_from(tmp_path: Path) -> None:
    protocol = build(4, 1)
    path = tmp_path / "node.sqlite"
    state = protocol.receive("a1", protocol.start("a1").state, _pp(protocol, 0)).state
    with SqliteStore(path) as store:
        log = DurableLog(store, protocol)
        assert log.load("a1") is None
        log.save("a1", protocol.durable("a1", state))
        assert store.writes == 1
    with SqliteStore(path) as store:  # another process opening the file later
        assert DurableLog(store, protocol).load("a1") == protocol.durable("a1", state)
        (journal,), (sync,) = (store._db.execute(q).fetchone() for q in ("PRAGMA journal_mode", "PRAGMA synchronous"))
        assert journal == "wal" and sync == 2  # FULL: the WAL is fsynced at every commit
    raw = sqlite3.connect(path)
    raw.execute("UPDATE durable SET state = ? WHERE agent = 'a1'", (b"\xc1junk",))
    raw.execute("INSERT INTO durable VALUES ('s0', 'a2', 'majority/Other', 1, x'00')")
    raw.commit()
    raw.close()
    with SqliteStore(path) as store:
        log = DurableLog(store, protocol)
        with pytest.raises(DurableStateError, match="does not decode"):
            log.load("a1")
        with pytest.raises(DurableStateError, match="majority/Other"):
            log.load("a2")
    with pytest.raises(ConfigurationError, match="keeps no durable state"):
        DurableLog(SqliteStore(tmp_path / "other.sqlite"),
                   MajorityVoting(["a0", "a1", "a2"], {"a0": "x", "a1": "x", "a2": "y"}))


class Recording(InProcessTransport):
    """Records every message handed to the network, with what the sender's store held at that moment."""

    def __init__(self, log: DurableLog, *args: Any) -> None:
        super().__init__(*args)
        self.log = log
        self.sent: list[tuple[Message, ReplicaState | None]] = []

    def send(self, sender: str, to: str, message: Message, depth: int) -> None:
        self.sent.append((message, self.log.load(sender)))
        super().send(sender, to, message, depth)


def _contains(state: ReplicaState, message: Message) -> bool:
    held = [s.pre_prepare for s in state.slots] + [m for s in state.slots for m in (*s.prepares, *s.commits)]
    held += list(state.checkpoints) + list(state.view_changes)
    return message in held


def test_the_runtime_writes_what_a_replica_signs_before_it_leaves_and_restarts_from_it(tmp_path: Path) -> None:
    from mabeam.core.rng import SeededRandom
    from mabeam.live.network import NetworkModel

    protocol = build(4, 1, checkpoint_interval=2)

    async def run(store: SqliteStore) -> tuple[Any, Recording]:
        log = DurableLog(store, protocol)
        transport = Recording(log, NetworkModel(), SeededRandom(0))
        runtime = AsyncRuntime(protocol, transport=transport, durable=log, stop_when_decided=True, timeout=5)
        return await runtime.run(), transport

    with SqliteStore(tmp_path / "all.sqlite") as store:
        result, transport = asyncio.run(run(store))
        assert result.status == "decided" and store.writes >= 4
    votes = [(m, saved) for m, saved in transport.sent if isinstance(m, (PrePrepare, Prepare, Commit))]
    assert votes and all(saved is not None and _contains(saved, m) for m, saved in votes)
    with SqliteStore(tmp_path / "all.sqlite") as store:  # the whole group restarts from the same store
        again, _ = asyncio.run(run(store))
    assert again.status == "decided" and again.decided_value == result.decided_value
    assert again.evidence == [] and not again.rejected.get("equivocation")


def test_pbft_messages_too_large_for_the_frame_are_refused_at_set_up() -> None:
    from tcp_helpers import cluster, pbft

    from mabeam.core import MessageTooLargeError

    big = pbft(4, value="v" * 60_000)  # a NEW-VIEW may carry it about 20 times over
    assert big.largest_message_bytes() > 20 * 60_000
    with pytest.raises(MessageTooLargeError):
        TcpTransport(big, ("a1",), tls=cluster(4).tls_credentials(("a1",)))  # a backup forwards it too
    TcpTransport(big, ("a1",), tls=cluster(4).tls_credentials(("a1",)), max_frame=2 << 20,
                 max_queue_bytes=16 << 20, max_buffered_bytes=16 << 20, max_connection_bytes=4 << 20)
