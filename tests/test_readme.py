"""Every command of the README's "Using it" block runs as written, with the exit code it implies, and the
"From Python" block gives what its comments say."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
#: served until interrupted (tests/test_cli_help.py), or minutes long (tests/test_validate.py, slow tier)
ELSEWHERE = ("mabeam explore", "mabeam validate")


def console_commands() -> list[str]:
    block = README.split("## Using it", 1)[1].split("```console", 1)[1].split("```", 1)[0]
    commands = [line[2:].split("  #")[0].strip() for line in block.splitlines() if line.startswith("$ ")]
    return [c for c in commands if not c.startswith(ELSEWHERE)]


def test_the_block_is_read() -> None:
    commands = console_commands()
    assert len(commands) >= 10 and any("--trace-out cex.json" in c for c in commands)


def test_every_command_runs_as_written(tmp_path: Path) -> None:
    """In order, in one fresh directory (the replay reads the file the check before it wrote)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for command in console_commands():
        argv = shlex.split(command)
        assert argv[0] == "mabeam"
        done = subprocess.run([sys.executable, "-m", "mabeam.cli", *argv[1:]], capture_output=True, text=True,
                              timeout=600, cwd=tmp_path, env=env)
        expected = 1 if "--mutant" in argv else 0  # the mutant's check finds its counterexample
        assert done.returncode == expected, f"{command}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr}"
        assert "Traceback" not in done.stderr, command
    assert {p.name for p in tmp_path.iterdir()} == {"cex.json", "cex.html", "keys"}


def test_the_python_block_says_what_it_gets() -> None:
    block = README.split("```python", 1)[1].split("```", 1)[0]
    claims = dict(re.findall(r"^(result\.\w+(?:, result\.\w+)*)\s+# (.+)$", block, flags=re.MULTILINE))
    namespace: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), namespace)
    result = namespace["result"]
    assert claims["result.status, result.decided_value"] == repr((result.status, result.decided_value))
    rejected = claims["result.rejected"]
    for reason, count in re.findall(r"'([\w-]+)': (\d+)", rejected):
        assert result.rejected[reason] == int(count), reason
    assert result.evidence  # "transferable proof against the equivocator"


def test_the_weighted_line_of_the_python_block() -> None:
    from mabeam import start_weighted_vote

    run = start_weighted_vote({"a0": "resnet", "a1": "vit", "a2": "vit", "a3": "vit"},
                              {"a0": 2, "a1": 2, "a2": 2, "a3": 1}, driver="runtime")
    assert "vit: 5/7 > 2/3" in README and run.decided_value == "vit"


@pytest.mark.parametrize("path", ["LICENSE", "CHANGELOG.md", "docs/tutorial.md", "docs/concepts.md",
                                  "docs/cli.md", "docs/architecture.md"])
def test_the_files_the_readme_links_exist(path: str) -> None:
    assert (ROOT / path).is_file() and path in README


def test_every_relative_link_of_the_readme_resolves() -> None:
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if "://" not in target:
            assert (ROOT / target).exists(), target


def test_the_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
