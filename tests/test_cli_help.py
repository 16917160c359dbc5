"""CLI polish: help with defaults and exit codes on every verb, --version, --json everywhere, usage
errors as exit 2 with a clear message (never a traceback), and docs/cli.md in step with --help."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import mabeam
from mabeam.cli.main import build_parser, main
from mabeam.cli.reference import _subparsers, markdown

ROOT = Path(__file__).resolve().parent.parent
VERBS = _subparsers(build_parser())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_every_verb_is_there() -> None:
    assert set(VERBS) >= {"protocols", "mutants", "check", "replay", "explore", "prove", "simulate", "validate",
                          "demo"}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_option_says_its_default_and_help_lists_exit_codes(verb: str) -> None:
    parser = VERBS[verb]
    for action in parser._actions:
        if not action.option_strings or isinstance(action, argparse._HelpAction):
            continue
        rendered = parser.formatter_class(prog="x")._get_help_string(action) % {"default": action.default}
        assert action.help, f"{verb} {action.option_strings} has no help"
        assert "default" in rendered or action.required, f"{verb} {action.option_strings}: {rendered!r}"
    text = parser.format_help()
    assert "exit codes:" in text and "3  incomplete" in text


def test_choices_are_listed_in_help() -> None:
    text = " ".join(re.sub(r"-\n\s*", "-", VERBS["check"].format_help()).split())
    assert "{multiset,duplicating}" in text and "pkg.module:ENTRY" in text and "iterative-categorical" in text


def test_the_top_level_help_lists_verbs_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "validate" in out and "explore" in out and "exit codes:" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"mabeam {mabeam.__version__}"


def test_the_version_is_the_one_pyproject_declares() -> None:
    import tomllib

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == mabeam.__version__


def test_mutants_of_an_unknown_protocol_exit_two(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "mutants", "raft")
    assert code == 2 and out == "" and "unknown protocol 'raft'" in err and "Traceback" not in err


@pytest.mark.parametrize("content, message", [
    ("[]", "expected a JSON object written by `mabeam check --trace-out`, got a JSON list"),
    ("{}", "no 'model' object"),
    ("{oops", "not JSON"),
    ('{"model": {"protocol": "majority", "agents": "three", "faulty": 1}, "properties": []}',
     "model.agents must be a non-negative integer"),
    ('{"model": {"protocol": "majority", "agents": 3, "faulty": 1}, "properties": {}}', "'properties' must be a list"),
    ('{"model": {"protocol": "majority", "agents": 3, "faulty": 1}, "properties": [{"id": "MAJ-S1", "trace": '
     '{"steps": [{"action": "deliver"}]}}]}', "has no valid 'action'"),
    ('{"model": {"protocol": "majority", "agents": 3, "faulty": 1}, "properties": [{"id": "MAJ-S1"}]}',
     "holds no counterexample trace"),
    ('{"model": {"protocol": "raft", "agents": 3, "faulty": 1}, "properties": [{"id": "X", "trace": '
     '{"steps": [{"action": null}]}}]}', "unknown protocol 'raft'"),
    ('{"model": {"protocol": "majority", "agents": 3, "faulty": 1}, "properties": [{"id": "MAJ-S1", "trace": '
     '{"steps": [{"action": null}, {"action": ["deliver", "a0", "00"]}]}}]}', "is not enabled"),
])
def test_replay_of_a_malformed_file_exits_two_with_a_clear_message(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "trace.json"
    path.write_text(content)
    code, _, err = run(capsys, "replay", str(path))
    assert code == 2 and message in err and "Traceback" not in err, err


def test_replay_of_a_binary_file_exits_two(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "trace.json"
    path.write_bytes(b"\xff\xfe\x00\x81")
    code, _, err = run(capsys, "replay", str(path))
    assert code == 2 and "not a text file" in err


@pytest.mark.parametrize("argv", [
    ["protocols"], ["mutants", "majority"], ["check", "majority"], ["prove", "majority"],
    ["simulate", "majority", "--agents", "5"],
])
def test_json_is_one_object_on_every_verb(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, _ = run(capsys, *argv, "--json")
    assert code == 0 and isinstance(json.loads(out), dict)


def test_replay_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cex = tmp_path / "cex.json"
    run(capsys, "check", "majority", "--mutant", "forget-decision", "-q", "--trace-out", str(cex))
    code, out, _ = run(capsys, "replay", str(cex), "--json")
    data = json.loads(out)
    assert code == 0 and data["ok"] and {p["id"] for p in data["properties"]} >= {"MAJ-S1"}


def test_demo_json_is_one_object() -> None:
    done = subprocess.run([sys.executable, "-m", "mabeam.cli", "demo", "--quick", "--json"], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
    data = json.loads(done.stdout)
    assert done.returncode == 0 and data["ok"] and data["checks"] and data["mutants"] and data["live"]


def test_explore_json_prints_its_address_and_serves() -> None:
    import urllib.request

    child = subprocess.Popen([sys.executable, "-m", "mabeam.cli", "explore", "majority", "--port", "0", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        assert info["url"].startswith("http://127.0.0.1:") and info["protocol"] == "majority"
        with urllib.request.urlopen(info["url"] + "api/state", timeout=30) as response:
            assert len(json.load(response)["nodes"]) == 3
    finally:
        child.terminate()
        child.wait(timeout=30)


def test_progress_goes_to_stderr_and_quiet_silences_it(capsys: pytest.CaptureFixture[str]) -> None:
    from mabeam.cli.output import CheckProgress

    progress = CheckProgress(quiet=False, label="x")
    progress._last_print = 0.0  # as if five seconds had passed
    progress({"depth": 3, "distinct_states": 1000, "seconds": 2.0, "rss_bytes": 50 * 2**20})
    err = capsys.readouterr().err
    assert "1,000 distinct states" in err and "500 states/s" in err and "2.0s elapsed" in err and "RSS 50 MiB" in err
    quiet = CheckProgress(quiet=True)
    quiet({"depth": 3, "distinct_states": 1000, "seconds": 2.0})
    assert capsys.readouterr().err == "" and quiet.series == [(2.0, 1000)]


def test_the_protocols_table_is_aligned(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "protocols")
    lines = out.splitlines()
    starts = {line.index(" crash ") if " crash " in line else line.index(" byzantine ") for line in lines}
    assert len(starts) == 1, lines


def test_docs_cli_md_is_the_generated_reference() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == markdown(), \
        "docs/cli.md is out of date: python -m mabeam.cli.reference > docs/cli.md"
