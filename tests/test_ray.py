"""The partitioned search and the swarm on a local Ray instance (``ray.init(num_cpus=2)``).

Ray is an optional extra: these tests skip without it, except the one that
checks the message a user without Ray gets.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from mabeam import ConfigurationError, check
from mabeam.api.registry import builtin_entries, get
from mabeam.api.verify import build_model

ROOT = Path(__file__).resolve().parent.parent


def summary(result):
    return (result.stats.distinct_states,
            {r.property.id: (r.status, len(r.trace) if r.trace is not None else None) for r in result.results})


def cpus_freed(ray_module, timeout=20.0) -> bool:
    """Whether both CPUs are free again (killed actors release them asynchronously)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ray_module.available_resources().get("CPU") == 2:
            return True
        time.sleep(0.2)
    return False


def test_without_ray_the_option_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    entry = get("majority")
    with pytest.raises(ConfigurationError, match=r"pip install \"mabeam\[ray\]\""):
        check(build_model(entry), entry.properties, workers=2, ray="local")


try:
    import ray
except ImportError:  # the [ray] extra is not installed
    ray = None


@pytest.fixture(scope="module")
def local_ray():
    if ray is None:
        pytest.skip('Ray is not installed (pip install -e ".[ray]")')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(builtin_entries()))
def test_ray_agrees_with_one_process(local_ray, name):
    entry = get(name)
    one = check(build_model(entry), entry.properties)
    on_ray = check(build_model(entry), entry.properties, workers=2, ray="local")
    assert summary(on_ray) == summary(one)
    assert any("Ray actors" in n for n in on_ray.notes)
    assert cpus_freed(local_ray)  # every actor is gone


@pytest.mark.slow
def test_ray_mutant_trace_is_shortest(local_ray):
    entry = get("pbft")
    one = check(build_model(entry, mutant="quorum-2f"), entry.properties)
    on_ray = check(build_model(entry, mutant="quorum-2f"), entry.properties, workers=2, ray="local")
    assert summary(on_ray) == summary(one)


@pytest.mark.slow
def test_ray_budget_stops_cleanly(local_ray):
    entry = get("pbft")
    result = check(build_model(entry, max_states=3000), entry.properties, workers=2, ray="local")
    assert result.verdict == "incomplete"
    assert cpus_freed(local_ray)


@pytest.mark.slow
def test_swarm_on_ray(local_ray):
    from mabeam.checker.swarm import swarm_check

    entry = get("pbft")
    result = swarm_check(build_model(entry, mutant="quorum-2f"), entry.properties, searches=2, budget=8,
                         workers=2, ray="local")
    assert result.verdict == "violated"
    assert cpus_freed(local_ray)


@pytest.mark.slow
def test_ctrl_c_leaves_no_ray_process():
    """A CLI run that started its own Ray instance, interrupted: it reports incomplete and Ray is gone."""
    if ray is None:
        pytest.skip('Ray is not installed (pip install -e ".[ray]")')
    with tempfile.TemporaryDirectory(prefix="mabeam-ray-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": tmp}
        proc = subprocess.Popen([sys.executable, "-m", "mabeam.cli", "check", "iterative", "--ray", "--workers", "2",
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not _ray_processes(tmp, actors=True):
            time.sleep(0.5)
        assert _ray_processes(tmp, actors=True), "the Ray actors did not start"
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 3, (out, err[-2000:])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _ray_processes(tmp):
            time.sleep(0.5)
        assert not _ray_processes(tmp)


def _ray_processes(marker: str, *, actors: bool = False) -> list[int]:
    """Processes whose command line or environment names the run's Ray directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            environ = (entry / "environ").read_bytes().decode(errors="replace")
            state = (entry / "status").read_text()
        except OSError:
            continue
        if "zombie" in state.lower() or (marker not in cmdline and marker not in environ):
            continue
        if int(entry.name) == os.getpid():
            continue
        if actors and "_Actor" not in cmdline:
            continue
        if "mabeam.cli" in cmdline:
            continue  # the driver itself
        found.append(int(entry.name))
    return found
