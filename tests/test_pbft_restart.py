"""kill -9 and restart PBFT replicas (real OS processes over TLS): they recover, decide, and never equivocate.

Four processes, one replica each, each with its own SQLite store. A replica
is killed with SIGKILL by itself, exactly after the fsync of a write and
before that step's messages leave (the worst moment), or by the test from
outside, and restarted on its old port from its store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tcp_helpers import CLIENT, cluster, free_port

from mabeam.protocols.pbft import PBFTReplica, Prepare, PrePrepare, ReplicaState, signed_requests
from mabeam.runtime import DurableLog, SqliteStore, write_cluster

ROOT = Path(__file__).resolve().parents[1]
VALUE = "block-restart"


class Cluster:
    """Four node processes sharing one address book."""

    def __init__(self, tmp: Path, run_for: float, view_timeout: float = 1.0) -> None:
        self.keys_dir = tmp / "keys"
        write_cluster(cluster(4), self.keys_dir)
        auth = cluster(4).authenticator((CLIENT,))
        self.request = signed_requests(auth, "s0", [(CLIENT, VALUE)])[0]
        self.tmp = tmp
        self.run_for = run_for
        self.view_timeout = view_timeout
        self.book = {f"a{i}": ["127.0.0.1", free_port()] for i in range(4)}
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "tests")))}

    def store(self, agent: str) -> Path:
        return self.tmp / f"{agent}.sqlite"

    def spawn(self, agent: str, *, die_on: str | None = None, run_for: float | None = None) -> subprocess.Popen[str]:
        command = [sys.executable, str(ROOT / "tests" / "tcp_node.py"), "--protocol", "pbft", "--agents", "4",
                   "--keys", str(self.keys_dir), "--local", agent, "--port", str(self.book[agent][1]),
                   "--book", json.dumps(self.book), "--request", self.request.canonical().hex(),
                   "--store", str(self.store(agent)), "--timeout", str(run_for or self.run_for), "--run-to-timeout",
                   "--view-timeout", str(self.view_timeout)]
        if die_on:
            command += ["--die-on", die_on]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)


def durable(path: Path, agent: str, protocol: PBFTReplica) -> ReplicaState:
    with SqliteStore(path) as store:
        state = DurableLog(store, protocol).load(agent)
    assert isinstance(state, ReplicaState)
    return state


def final_report(process: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    out, err = process.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.strip()]
    assert process.returncode == 0 and lines, err
    report: dict[str, Any] = json.loads(lines[-1])
    return report


@pytest.mark.timeout(120)
def test_kill_9_the_primary_and_a_backup_and_restart_them_from_their_stores(tmp_path: Path) -> None:
    from tcp_helpers import pbft

    net = Cluster(tmp_path, run_for=7.0, view_timeout=3.0)  # restarts (a process start each) beat the timers
    verifier = pbft(4, value=VALUE)  # same members, request and public keys: decodes and checks the stores
    started = time.perf_counter()
    primary = net.spawn("a0", die_on="pre-prepare")  # dies once the pre-prepare it is about to send is on disk
    backup = net.spawn("a1", die_on="prepare")  # and the backup once its prepare is
    others = [net.spawn("a2"), net.spawn("a3")]
    try:
        primary.communicate(timeout=30)
        assert primary.returncode == -9  # SIGKILL, after the fsync and before the broadcast
        before = durable(net.store("a0"), "a0", verifier)
        assert [type(s.pre_prepare) for s in before.slots] == [PrePrepare]
        assert before.slots[0].pre_prepare.request == net.request  # type: ignore[union-attr]
        primary = net.spawn("a0", run_for=6.0)
        backup.communicate(timeout=30)
        assert backup.returncode == -9
        own = [p for s in durable(net.store("a1"), "a1", verifier).slots for p in s.prepares if p.sender == "a1"]
        assert [type(p) for p in own] == [Prepare]
        backup = net.spawn("a1", run_for=6.0)
        reports = {"a0": final_report(primary, 60), "a1": final_report(backup, 60),
                   "a2": final_report(others[0], 60), "a3": final_report(others[1], 60)}
    finally:
        for process in (primary, backup, *others):
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert time.perf_counter() - started < 60
    for agent, report in reports.items():
        assert report["status"] == "decided" and report["decisions"] == {agent: [VALUE]}, (agent, report)
        assert report["evidence"] == [], (agent, report["evidence"])  # nobody holds evidence against anyone
        assert report["reports"] == [], report["reports"]
    # the restarted replicas re-sent exactly what they had signed: their stores hold one pre-prepare (a0)
    # and one prepare (a1) for the slot, the ones they signed before dying
    after = durable(net.store("a0"), "a0", verifier)
    assert after.last_executed == 1 and after.decision_proofs[0].pre_prepare.request == net.request
    if after.decision_proofs[0].view == 0:  # no view change on the way: it is the very pre-prepare a0 signed
        assert after.decision_proofs[0].pre_prepare == before.slots[0].pre_prepare


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_primary_restarted_after_the_others_moved_on_catches_up(tmp_path: Path) -> None:
    """The primary dies before its pre-prepare leaves and stays down while the others change view and decide
    in view 1 (or later); restarted, its re-sent view-0 messages are stale, its timer makes it ask with a VIEW-CHANGE,
    and the decided replicas answer with their commit certificate."""
    from tcp_helpers import pbft

    net = Cluster(tmp_path, run_for=12.0)
    verifier = pbft(4, value=VALUE)
    primary = net.spawn("a0", die_on="pre-prepare")
    others = [net.spawn(f"a{i}") for i in (1, 2, 3)]
    try:
        primary.communicate(timeout=30)
        assert primary.returncode == -9
        time.sleep(5.0)  # the backups time out (1 s), move to view 1 (primary a1) and decide without a0
        primary = net.spawn("a0", run_for=5.0)
        restarted = final_report(primary, 60)
        reports = [final_report(p, 60) for p in others]
    finally:
        for process in (primary, *others):
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert restarted["status"] == "decided" and restarted["decisions"] == {"a0": [VALUE]}, restarted
    assert all(r["status"] == "decided" and r["evidence"] == [] for r in reports), reports
    assert restarted["evidence"] == []
    state = durable(net.store("a0"), "a0", verifier)
    # It adopted a certificate the others decided with: view 1's, or a later one's if a loaded machine made
    # the backups time out again in view 1 (seen in CI: they decided in view 2).
    decided_in = {durable(net.store(a), a, verifier).decision_proofs[0].view for a in ("a1", "a2", "a3")}
    assert state.last_executed == 1 and state.decision_proofs[0].view in decided_in and min(decided_in) >= 1
