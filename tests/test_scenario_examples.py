"""The attack, partition and ecosystem examples: what the README says they show, and they write files
only where they are told to (``--json PATH``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def example(name: str, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), *argv], capture_output=True,
                          text=True, timeout=600, cwd=cwd, env=env)


def test_the_byzantine_example_includes_the_beyond_the_bound_case(tmp_path: Path) -> None:
    done = example("byzantine_behavior_simulation", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if " | " in line][1:]
    assert len(rows) == 10 and rows[-1].startswith("coalition-stealth (f+1) | 4/10 |")
    assert all(" | 3/10 | 7/7 | yes | " in row for row in rows[:-1])  # within the bound: all decide, all safe
    assert "beyond the bound (4 Byzantine > f=3): PBFT promises nothing; the live monitor found violated: PBFT-S3" \
        in done.stdout
    assert list(tmp_path.iterdir()) == []  # nothing written without --json


def test_the_byzantine_and_partition_examples_write_json_only_where_asked(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    for name in ("byzantine_behavior_simulation", "network_partition_testing"):
        target = out / f"{name}.json"
        done = example(name, "--seed", "0", "--json", str(target), cwd=tmp_path)
        assert done.returncode == 0 and f"wrote {target}" in done.stdout
        assert json.loads(target.read_text())["rows"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports"]
    beyond = [r for r in json.loads((out / "byzantine_behavior_simulation.json").read_text())["rows"]
              if not r["within_bound"]]
    assert len(beyond) == 1 and len(beyond[0]["byzantine"]) == 4 and beyond[0]["f"] == 3


def test_the_ecosystem_example_passes_every_service_check(tmp_path: Path) -> None:
    target = tmp_path / "ecosystem.json"
    done = example("full_ecosystem_integration", "--sessions", "9", "--seed", "2", "--json", str(target),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(target.read_text())
    assert report["passed"] and all(report["checks"].values()) and len(report["checks"]) == 7
    assert {s["protocol"] for s in report["sessions"]} == {"majority", "weighted", "pbft"}
    assert report["lease_wait_s"]["waited"] >= 1 and set(report["config_versions"]) == {"1", "2"}
    assert report["telemetry_events"]["session.start"] == 9 == report["events"]["session.decided"]
    assert "overall: PASS" in done.stdout
