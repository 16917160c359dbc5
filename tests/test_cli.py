"""The ``mabeam`` command line: exit codes, JSON output, mutants, replay, bad arguments."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mabeam.api.registry import entries
from mabeam.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_protocols_lists_every_registered_protocol(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "protocols")
    assert code == 0
    for name in entries():
        assert any(line.startswith(name + " ") for line in out.splitlines())


def test_mutants_prints_one_line_per_mutant(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "mutants")
    lines = out.strip().splitlines()
    expected = [(e.name, m.name) for e in entries().values() for m in e.mutants]
    assert code == 0 and len(lines) == len(expected)
    for line, (protocol, mutant) in zip(lines, expected):
        assert line.split(" ", 2)[:2] == [protocol, mutant] and len(line.split(" ", 2)[2]) > 5


def test_check_exits_zero_with_figures_when_every_property_holds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "majority", "--agents", "3")
    assert code == 0
    assert "every property holds" in out and "1,840 distinct states" in out and "full state space" in out


def test_check_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "majority", "--agents", "3", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert data["stats"]["distinct_states"] == 1840 and data["stats"]["complete"] is True
    assert {p["id"] for p in data["properties"]} >= {"MAJ-S1", "MAJ-L1"}


def test_a_mutant_exits_one_and_its_trace_replays(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_file = tmp_path / "cex.json"
    code, out, _ = run(capsys, "check", "majority", "--mutant", "forget-decision",
                       "--trace-out", str(out_file))
    assert code == 1
    assert "counterexample to MAJ-S1 Agreement (shortest trace, 2 steps)" in out
    code, out, _ = run(capsys, "replay", str(out_file), "--property", "MAJ-S1")
    assert code == 0 and "violation reproduced" in out and "DECIDE 'y'" in out


def test_replay_rebuilds_the_adversary_the_check_used(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A Dolev-Yao counterexample (a learned PREPARE relabelled as a COMMIT) replays only against
    the Dolev-Yao adversary: the file's ``adversary`` is honoured, not the mutant's default."""
    out_file = tmp_path / "cex.json"
    code, _, _ = run(capsys, "check", "pbft", "--mutant", "vote-signature-without-kind",
                     "--adversary", "dolev-yao", "--trace-out", str(out_file))
    assert code == 1
    code, out, _ = run(capsys, "replay", str(out_file), "--property", "PBFT-S9")
    assert code == 0 and "violation reproduced" in out
    data = json.loads(out_file.read_text())
    assert data["model"]["adversary"] == "dolev-yao"
    data["model"]["adversary"] = "static"  # the same file, claiming the static adversary
    out_file.write_text(json.dumps(data))
    code, out, _ = run(capsys, "replay", str(out_file), "--property", "PBFT-S9")
    assert code == 1 and "violation NOT reproduced" in out


def test_depth_bound_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check", "majority", "--depth", "2", "--json")
    data = json.loads(out)
    assert code == 3 and data["verdict"] == "incomplete" and data["exit_code"] == 3  # nothing is proven
    assert data["stats"]["complete"] is False and data["stats"]["bound"] == "depth 2"
    assert next(p for p in data["properties"] if p["id"] == "MAJ-L1")["status"] == "incomplete"


@pytest.mark.parametrize("argv, message", [
    (["check", "nope"], "unknown protocol 'nope'"),
    (["check", "majority", "--agents", "4", "--faulty", "2"], "f < n/2"),
    (["check", "majority", "--mutant", "nope"], "has no mutant 'nope'"),
    (["check", "majority", "--network", "duplicating", "--drops", "1"], "duplicating network"),
    (["replay", "/nonexistent/file.json"], "No such file"),
    (["simulate", "majority", "--agents", "5", "--loss", "1.5"], "--loss"),
])
def test_bad_arguments_exit_two_with_a_clear_message(capsys: pytest.CaptureFixture[str], argv: list[str],
                                                     message: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_argparse_errors_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "majority", "--agents", "zero"])
    assert exit_info.value.code == 2
    assert "expected a whole number" in capsys.readouterr().err


def test_simulate_json_is_deterministic_for_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    runs = []
    for _ in range(2):
        code, out, _ = run(capsys, "simulate", "majority", "--agents", "30", "--seed", "5", "--faulty", "1",
                           "--loss", "0.1", "--json")
        data = json.loads(out)
        data.pop("wall_seconds")
        runs.append(data)
        assert code == 0 and data["status"] == "decided" and data["agreement"] is True
    assert runs[0] == runs[1]


def test_simulate_reports_no_decision_when_crashes_leave_no_majority(capsys: pytest.CaptureFixture[str]) -> None:
    """The standard instance splits 14 'x' / 16 'y'; crashing three 'y' voters leaves no majority."""
    code, out, _ = run(capsys, "simulate", "majority", "--agents", "30", "--seed", "5", "--faulty", "3",
                       "--json")
    data = json.loads(out)
    assert code == 1 and data["status"] == "no-decision" and data["agreement"] is True
    assert all(v["status"] != "violated" for v in data["properties"].values())


def test_prove_runs_the_z3_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prove", "majority", "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and all(p["status"] == "proved" for p in data["proofs"])


def test_console_script_is_installed() -> None:
    result = subprocess.run([sys.executable, "-m", "mabeam.cli", "mutants", "majority"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("majority quorum-off-by-one ")
