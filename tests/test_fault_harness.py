"""The fault-injection harness across OS processes (loopback): every protocol survives it, mutants do not.

The slow tests start real node processes over TLS: a node killed with
SIGKILL (a PBFT replica restarted from its store), links slowed and a
partition healed through the proxy, a spoofing outsider; the nodes' logs are
replayed through the protocol's safety properties. The fast tests hold the
replay and the plan to what they promise on hand-written logs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mabeam.core.errors import ConfigurationError
from mabeam.faults import FaultPlan, replay, run_faults
from mabeam.faults.builds import BUILDERS, build
from mabeam.faults.log import LogObserver, NodeLog, read_log
from mabeam.faults.proxy import Proxy

PROTOCOLS = sorted(BUILDERS)


# ------------------------------------------------------------------ fast: the replay on hand-written logs
def _simulated_log(tmp_path: Path, name: str, protocol: object) -> Path:
    """A log written by the node's own observer, of a whole group run in the simulator (one process)."""
    from mabeam.sim import Simulator

    log = NodeLog(tmp_path / name, 0)
    Simulator(protocol, seed=1, observers=[LogObserver(log)]).run()  # type: ignore[arg-type]
    log.close()
    return tmp_path / name


def _all_vote(value: str) -> object:
    from mabeam.core.identity import Membership
    from mabeam.protocols.majority import MajorityVoting

    membership = Membership.of_size(4)
    return MajorityVoting(membership, {a: value for a in membership})


def test_the_replay_holds_on_the_log_of_a_correct_run(tmp_path: Path) -> None:
    protocol = build("majority", 4)
    result = replay(protocol, [_simulated_log(tmp_path, "n0.jsonl", protocol)])
    assert result.violations() == [] and result.states >= 8
    assert all(v.checks == result.records for v in result.verdicts.values())
    assert set(result.decisions) == set(protocol.agents)


def test_the_replay_finds_two_groups_that_decided_differently(tmp_path: Path) -> None:
    """Two logs that cannot both be of one run: each side decided, on different values."""
    logs = [_simulated_log(tmp_path, "n0.jsonl", _all_vote("x")), _simulated_log(tmp_path, "n1.jsonl", _all_vote("y"))]
    result = replay(_all_vote("x"), logs)  # type: ignore[arg-type]
    assert "MAJ-S1" in result.violations()
    assert result.verdicts["MAJ-S1"].at is not None and result.verdicts["MAJ-S1"].at["kind"] == "decide"


def test_a_line_cut_short_by_a_kill_is_skipped(tmp_path: Path) -> None:
    path = _simulated_log(tmp_path, "n0.jsonl", build("majority", 4))
    whole = list(read_log(path))
    with open(path, "a") as file:
        file.write('{"t": 1.0, "kind": "decide", "agent": "a0"')  # no newline: the process died here
    assert list(read_log(path)) == whole


def test_a_log_naming_a_message_the_codec_cannot_read_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "n0.jsonl"
    path.write_text(json.dumps({"t": 0.0, "kind": "send", "agent": "a0", "inc": 0, "text": "?", "to": ["a1"],
                                "msg": "00ff"}) + "\n")
    with pytest.raises(Exception):  # noqa: B017  # the codec's own error: a bad log is never skipped silently
        replay(build("majority", 4), [path])


def test_the_replay_checks_every_logged_signature_with_the_public_keys(tmp_path: Path) -> None:
    from mabeam.core.auth import SymbolicAuthenticator
    from mabeam.protocols.pbft import PBFTReplica
    from mabeam.protocols.pbft.config import make_config

    def replica(seed: str) -> PBFTReplica:
        auth = SymbolicAuthenticator(("a0", "a1", "a2", "a3", "c0"), seed=seed)
        return PBFTReplica(make_config(4, auth=auth, requests=(("c0", "x"),)))

    genuine, forger = replica("deployer"), replica("someone-else")
    records = []
    for protocol in (genuine, forger):  # the primary's pre-prepare, signed with each one's keys
        message = protocol.start("a0").effects
        records += [{"t": float(len(records)), "kind": "send", "agent": "a0", "inc": 0, "text": "pre-prepare",
                     "to": ["a1"], "msg": protocol.codec.encode(e.message).hex()}
                    for e in message if hasattr(e, "message")]
    path = tmp_path / "n0.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = replay(genuine, [path])
    assert (result.signed, result.signatures_valid) == (2, 1)


def test_plans_are_bounded_and_checked() -> None:
    with pytest.raises(ConfigurationError):
        FaultPlan(duration=500).validate(4)
    with pytest.raises(ConfigurationError):
        FaultPlan(kills=((7, 0.1, None),)).validate(4)
    with pytest.raises(ConfigurationError):
        FaultPlan(kills=((1, 0.5, 0.2),)).validate(4)
    with pytest.raises(ConfigurationError):
        FaultPlan(partition=(0.0, 1.0, ((0, 9),))).validate(4)


def test_a_partition_cuts_exactly_the_links_between_sides() -> None:
    proxy = Proxy([1, 2, 3, 4])
    proxy.partition([[0, 1], [2]])  # node 3 in no group: cut from everyone
    cut = {pair for pair, link in proxy.links.items() if link.cut}
    assert cut == set(proxy.links) - {(0, 1), (1, 0)}
    proxy.heal()
    assert not any(link.cut for link in proxy.links.values())


def test_unknown_protocols_and_inputs_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        build("paxos", 3)
    with pytest.raises(ConfigurationError):
        build("majority", 3, inputs="lopsided")


# ------------------------------------------------------------------ slow: real processes
@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol_survives_kills_restarts_partitions_and_a_spoofer(protocol: str) -> None:
    report = run_faults(protocol)
    assert report.errors == [], report.errors
    assert report.safe, report.to_json()["violations"]
    assert all(v.checks > 0 for v in report.replay.verdicts.values())
    assert report.replay.decisions, "nobody decided: the run said nothing"  # not vacuous
    killed = {node for node, _, _ in report.plan["kills"]}
    assert killed and all(report.exits[node][0] == -9 for node in killed)  # SIGKILL, really
    restarted = [node for node, _, again in report.plan["kills"] if again is not None]
    for node in restarted:  # a durable replica came back from its store and finished its run
        assert len(report.exits[node]) == 2 and report.exits[node][1] == 0
        assert any(a in report.replay.decisions for a in report.nodes[node])
    assert protocol != "pbft" or restarted  # PBFT keeps durable state: its replica is restarted
    assert report.replay.signatures_valid == report.replay.signed  # every signed message verifies
    assert report.replay.signed > 0 or protocol in ("majority", "weighted", "iterative", "iterative-categorical")
    assert report.outsider.attempts >= 2 and report.spoofing_refused
    assert report.replay.rejected.get("handshake-failed", 0) >= report.outsider.attempts
    assert report.outsider.impersonated_frames > 0  # with a member's real certificate, as another member
    assert report.replay.rejected.get("spoofed-sender", 0) >= report.outsider.impersonated_frames


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_majority_mutant_on_every_node_is_caught_and_the_protocol_is_not() -> None:
    """quorum-off-by-one decides on n/2 votes: with 2/2 split inputs and a 2/2 partition, each side decides."""
    plan = FaultPlan(duration=3.0, partition=(0.0, 2.0, ((0, 1), (2, 3))), spoof_at=None)
    honest = run_faults("majority", 4, plan=plan, inputs="split")
    broken = run_faults("majority", 4, plan=plan, inputs="split",
                        mutants={i: "quorum-off-by-one" for i in range(4)})
    assert honest.safe and not honest.errors
    assert "MAJ-S1" in broken.replay.violations(), broken.to_json()
    assert {v for vs in broken.replay.decisions.values() for v in vs} == {"'x'", "'y'"}


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_pbft_mutant_on_one_node_is_caught_among_kills_and_restarts() -> None:
    """lowers-view on node 2 only, cut off from the rest: its view-change timer expires twice and it goes back."""
    plan = FaultPlan(duration=4.5, partition=(0.0, 4.5, ((0, 1, 3),)), kills=((3, 0.6, 1.6),), spoof_at=None)
    honest = run_faults("pbft", plan=plan)
    broken = run_faults("pbft", plan=plan, mutants={2: "lowers-view"})
    assert honest.safe and not honest.errors, honest.to_json()["violations"]
    assert broken.replay.violations() == ["PBFT-S8"], broken.to_json()
    assert broken.replay.verdicts["PBFT-S8"].at["agent"] == "a2"
    assert all(a in broken.replay.decisions for a in ("a0", "a1", "a3"))  # the others still decided


def test_the_command_refuses_bad_plans_and_unknown_mutants_before_starting_anything(capsys) -> None:
    from mabeam.cli.main import main

    assert main(["faults", "pbft", "--plan", "[1]"]) == 2
    assert main(["faults", "pbft", "--plan", '{"kills": [[9, 0.1, null]]}']) == 2
    assert main(["faults", "pbft", "--mutant", "no-such-mutant"]) == 2
    assert "no-such-mutant" in capsys.readouterr().err
