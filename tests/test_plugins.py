"""A third-party package that declares a protocol in the ``mabeam.protocols`` entry-point group is found
by ``mabeam protocols`` and works with every verb, once installed (here into a temporary directory)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(__file__).resolve().parent / "plugin_pkg"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` the plugin (offline, no dependencies) into a fresh directory, from a copy of its
    source so that the build leaves nothing in the checkout."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(PACKAGE, work / "src")
    target = work / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                           "--no-build-isolation", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (target / "mabeam_ping").is_dir() and list(target.glob("mabeam_ping-*.dist-info"))
    return target


def mabeam(site: Path, *argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "mabeam.cli", *argv], capture_output=True, text=True,
                          timeout=300, env=env, cwd=cwd or ROOT)


def test_the_installed_protocol_is_listed(site: Path) -> None:
    done = mabeam(site, "protocols", "--json")
    data = json.loads(done.stdout)
    ping = next(p for p in data["protocols"] if p["name"] == "ping")
    assert done.returncode == 0 and ping["source"] == "mabeam_ping:ENTRY" and data["problems"] == []
    text = mabeam(site, "protocols").stdout
    assert any(line.startswith("ping ") and "from mabeam_ping:ENTRY" in line for line in text.splitlines())


def test_every_verb_works_on_it(site: Path, tmp_path: Path) -> None:
    assert mabeam(site, "check", "ping").returncode == 0
    listed = mabeam(site, "mutants", "ping", "--check", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["mutants"][0]["caught"]
    cex = tmp_path / "cex.json"
    broken = mabeam(site, "check", "ping", "--mutant", "wrong-answer", "--trace-out", str(cex), "-q")
    assert broken.returncode == 1 and "PING-S1" in broken.stdout
    replayed = mabeam(site, "replay", str(cex))
    assert replayed.returncode == 0 and "violation reproduced" in replayed.stdout
    simulated = mabeam(site, "simulate", "ping", "--agents", "2", "--json")
    assert simulated.returncode == 0 and json.loads(simulated.stdout)["decided_value"] == "pong"
    proved = mabeam(site, "prove", "ping")
    assert proved.returncode == 2 and "has no Z3 model" in proved.stderr


def test_without_the_package_it_is_unknown(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "mabeam.cli", "check", "ping"], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 2 and "unknown protocol 'ping'" in done.stderr


def test_a_broken_entry_point_is_reported_not_fatal(tmp_path: Path) -> None:
    """An installed distribution whose entry point fails to import: listed as a problem, the rest still work."""
    dist = tmp_path / "broken_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mabeam.protocols]\nbroken = no_such_module_anywhere:ENTRY\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    done = subprocess.run([sys.executable, "-m", "mabeam.cli", "protocols"], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("majority")
    assert "entry point 'broken'" in done.stderr and "could not load" in done.stderr
