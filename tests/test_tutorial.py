"""The tutorial's protocols (docs/tutorial.md) through every verb, named by import path or by file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mabeam.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
TWO_PC = "examples.tutorial.two_phase_commit:ENTRY"
ELECTION = "examples.tutorial.leader_election:ENTRY"


@pytest.fixture(autouse=True)
def _from_the_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The references are resolved from the current directory, as a user in a checkout would."""
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_two_phase_commit_holds_and_names_every_property(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", TWO_PC, "--json")
    data = json.loads(out)
    assert code == 0 and data["verdict"] == "holds" and data["model"]["source"] == TWO_PC
    assert {p["id"]: p["status"] for p in data["properties"]} == {
        "2PC-S1": "holds", "2PC-S2": "holds", "2PC-S3": "holds", "2PC-R1": "reached", "2PC-R2": "reached",
        "2PC-L1": "holds"}


def test_a_file_reference_works_as_well(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "examples/tutorial/two_phase_commit.py:ENTRY", "--json")
    assert code == 0 and json.loads(out)["stats"]["distinct_states"] == 1791


def test_a_crashed_coordinator_blocks_and_the_trace_explains_it(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    cex = tmp_path / "cex.json"
    code, out, _ = run(capsys, "check", TWO_PC, "--agents", "3", "--faulty", "1", "-q", "--trace-out", str(cex))
    assert code == 1
    assert "✗ 2PC-L1" in out and "coordinator0 crashes" in out and "participant0 chooses vote=yes" in out
    assert "participant0: prepared (voted yes)" in out  # the changed node state under its step
    assert "fair actions enabled at the end: none" in out
    assert "correct agents still undecided: participant0 (prepared (voted yes))\n" in out
    code, out, _ = run(capsys, "replay", str(cex))
    assert code == 0 and "2PC-L1 Termination: replayed 3 steps; violation reproduced" in out


def test_every_mutant_of_both_tutorial_protocols_is_caught(capsys: pytest.CaptureFixture[str]) -> None:
    for reference, count in ((TWO_PC, 2), (ELECTION, 2)):
        code, out, _ = run(capsys, "mutants", reference, "--check", "--json")
        data = json.loads(out)
        assert code == 0 and data["ok"] and len(data["mutants"]) == count
        assert all(m["caught"] and m["property"] in m["breaks"] for m in data["mutants"])


def test_a_mutant_trace_replays(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cex = tmp_path / "mutant.json"
    code, _, _ = run(capsys, "check", ELECTION, "--mutant", "grant-everyone", "-q", "--trace-out", str(cex))
    assert code == 1
    code, out, _ = run(capsys, "replay", str(cex), "--property", "LE-S1", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and data["properties"][0]["reproduced"]
    leaders = [n["agent"] for n in data["properties"][0]["trace"]["steps"][-1]["nodes"] if "leader" in n["state"]
               and n["state"].startswith("leader")]
    assert len(leaders) == 2  # the final node states show both leaders


def test_simulate_runs_them_live(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "simulate", TWO_PC, "--agents", "5", "--seed", "1", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "decided" and data["decided_value"] == "commit"
    code, out, _ = run(capsys, "simulate", ELECTION, "--agents", "7", "--runtime", "--json")
    data = json.loads(out)
    assert code == 0 and data["status"] == "decided" and data["agreement"]


def test_the_leader_election_proofs_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prove", ELECTION, "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and len(data["proofs"]) == 14
    assert any("do NOT always intersect" in p["name"] for p in data["proofs"])
    code, _, err = run(capsys, "prove", TWO_PC)
    assert code == 2 and "has no Z3 model" in err


def test_the_python_snippet_of_the_tutorial() -> None:
    from examples.tutorial.two_phase_commit import TwoPhaseCommit
    from mabeam import Membership, run_protocol

    protocol = TwoPhaseCommit(Membership.with_roles(coordinator=1, participant=3),
                              preferences={"participant2": "no"})
    result = run_protocol(protocol, "simulator", seed=7)
    assert (result.status, result.decided_value) == ("decided", "abort")


def test_the_hypothesis_harness_snippet_of_the_tutorial() -> None:
    from hypothesis import settings
    from hypothesis.stateful import run_state_machine_as_test

    from examples.tutorial.two_phase_commit import ENTRY
    from mabeam.api.verify import build_model
    from mabeam.checker.stateful import protocol_state_machine

    machine = protocol_state_machine(lambda: build_model(ENTRY), ENTRY.properties)
    run_state_machine_as_test(machine, settings=settings(max_examples=20, stateful_step_count=20, deadline=None))


def test_bad_references_are_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom')\n")
    for reference, message in (("no_such_module_xyz:ENTRY", "cannot import"),
                               ("examples.tutorial.two_phase_commit:NOPE", "has no attribute"),
                               ("examples.tutorial.two_phase_commit:build", "not a ProtocolEntry"),
                               (f"{broken}:ENTRY", "RuntimeError: boom"), ("missing.py:ENTRY", "no such file")):
        code, _, err = run(capsys, "check", reference)
        assert code == 2 and message in err and "Traceback" not in err, (reference, err)
    assert os.getcwd() == str(ROOT)


def _tutorial_commands() -> list[str]:
    """The ``$ mabeam ...`` lines of docs/tutorial.md up to its packaging section (which assumes a
    package of yours is installed), continuation lines joined; the explorer is served forever (tested
    in tests/test_render.py and tests/test_browser.py)."""
    text = (ROOT / "docs" / "tutorial.md").read_text().split("## 10.")[0].replace("\\\n", " ")
    lines = [re.split(r"\s+#\s", line[2:])[0].strip() for line in text.splitlines() if line.startswith("$ mabeam ")]
    return [line for line in lines if not line.startswith("mabeam explore")]


def test_every_tutorial_command_runs_as_written(tmp_path: Path) -> None:
    import shlex
    import subprocess
    import sys

    commands = _tutorial_commands()
    assert len(commands) >= 10
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for command in commands:
        argv = shlex.split(command)
        done = subprocess.run([sys.executable, "-m", "mabeam.cli", *argv[1:]], capture_output=True, text=True,
                              timeout=600, cwd=ROOT if "cex" not in command else tmp_path, env=env)
        expected = 1 if ("--faulty" in argv or "--mutant" in argv) else 0
        assert done.returncode == expected, f"{command}: exit {done.returncode}\n{done.stdout[-1500:]}{done.stderr}"
    assert {p.name for p in tmp_path.iterdir()} == {"cex.json", "cex.html", "cex.mmd"}
