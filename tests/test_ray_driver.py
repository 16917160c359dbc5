"""``driver="ray"``: the README's Python examples with every agent a Ray actor, on a local Ray instance.

One ``ray.init(num_cpus=2)`` serves the module (Ray starts in seconds, not
milliseconds) and ``ray.shutdown()`` ends it. Without Ray these tests skip,
except the one checking the error a user without Ray gets.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

from mabeam import start_majority_vote
from mabeam.runtime.ray_driver import RayUnavailableError, pooled, release_actors

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
SESSIONS = {"start_byzantine_consensus", "start_weighted_vote", "start_majority_vote"}

try:
    import ray
except ImportError:  # the [ray] extra is not installed
    ray = None


def test_without_ray_the_driver_says_how_to_install_it(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(RayUnavailableError, match=r"pip install \"mabeam\[ray\]\""):
        start_majority_vote({"a0": "x", "a1": "x", "a2": "y"}, driver="ray")


@pytest.fixture(scope="module")
def local_ray():
    if ray is None:
        pytest.skip('Ray is not installed (pip install -e ".[ray]")')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    release_actors()
    ray.shutdown()


class _OnRay(ast.NodeTransformer):
    """Every session call of the block gets ``driver="ray"`` (replacing the driver it names, if any)."""

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in SESSIONS:
            node.keywords = [k for k in node.keywords if k.arg != "driver"]
            node.keywords.append(ast.keyword(arg="driver", value=ast.Constant("ray")))
        return node


def python_block_on(driver_rewrite: ast.NodeTransformer) -> tuple[dict[str, object], str]:
    block = README.split("```python", 1)[1].split("```", 1)[0]
    tree = ast.parse(block)
    # keep the weighted vote's value: the block's last line is an expression statement
    last = tree.body[-1]
    assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call)
    tree.body[-1] = ast.Assign(targets=[ast.Name("weighted", ast.Store())], value=last.value)
    tree = ast.fix_missing_locations(driver_rewrite.visit(tree))
    namespace: dict[str, object] = {}
    exec(compile(tree, "README.md", "exec"), namespace)
    return namespace, block


@pytest.mark.slow
def test_the_readme_python_block_runs_on_ray(local_ray) -> None:
    namespace, block = python_block_on(_OnRay())
    result, weighted = namespace["result"], namespace["weighted"]
    claims = dict(re.findall(r"^(result\.\w+(?:, result\.\w+)*)\s+# (.+)$", block, flags=re.MULTILINE))
    assert result.driver == "ray" and weighted.driver == "ray"
    assert claims["result.status, result.decided_value"] == repr((result.status, result.decided_value))
    for reason, count in re.findall(r"'([\w-]+)': (\d+)", claims["result.rejected"]):
        assert result.rejected[reason] == int(count), reason
    assert result.evidence and result.extras["evidence_verified"] == len(result.evidence)
    assert all(p["status"] != "violated" for p in result.properties.values())
    assert (weighted.status, weighted.decided_value) == ("decided", "vit")  # vit: 5/7 > 2/3
    assert weighted.properties["WV-S1"]["status"] == "holds"


@pytest.mark.slow
def test_ray_reports_what_the_runtime_reports(local_ray) -> None:
    """Same protocol code, same monitors: a crash-tolerant vote with a crash, on both drivers."""
    proposals = {f"a{i}": ("x" if i < 3 else "y") for i in range(5)}
    runs = {d: start_majority_vote(proposals, driver=d, crashes={"a4": 0.0}, seed=3) for d in ("runtime", "ray")}
    ray_run, runtime_run = runs["ray"], runs["runtime"]
    assert (ray_run.status, ray_run.decided_value, ray_run.crashed) == \
        (runtime_run.status, runtime_run.decided_value, runtime_run.crashed) == ("decided", "x", ("a4",))
    assert ray_run.messages.sent == runtime_run.messages.sent
    assert {p: v["status"] for p, v in ray_run.properties.items()} == \
        {p: v["status"] for p, v in runtime_run.properties.items()}


@pytest.mark.slow
def test_pipelines_and_adaptive_sessions_run_on_ray(local_ray) -> None:
    from mabeam import ConsensusLevel, WeightedLevel, run_adaptive_coordination, run_pipeline

    levels = [ConsensusLevel("plan", ("p0", "p1", "p2", "p3"), 1, lambda _: "plan-A"),
              WeightedLevel("rate", {"w0": 2, "w1": 1, "w2": 1, "w3": 1}, 0,
                            lambda plan: {f"w{i}": plan for i in range(4)})]
    report = run_pipeline(levels, driver="ray", seed=2)
    assert report.driver == "ray"
    assert [lv.status for lv in report.levels] == ["decided", "decided"] and report.all_properties_hold
    assert report.levels[1].decided == "plan-A"
    adaptive = run_adaptive_coordination({f"a{i}": "go" for i in range(4)}, driver="ray", deadline=3.0)
    assert (adaptive.status, adaptive.value) == ("decided", "go"), adaptive
    assert adaptive.run.driver == "ray"


class _Explodes(Exception):
    pass


def _exploding_majority():
    """A majority vote whose a1 raises on its first delivery (the class travels to the actor by value)."""
    from mabeam.core.identity import Membership
    from mabeam.protocols.majority import MajorityVoting

    class Exploding(MajorityVoting):
        def on_message(self, agent, state, message):
            if agent == "a1":
                raise _Explodes(f"{agent} cannot take {type(message).__name__}")
            return super().on_message(agent, state, message)

    membership = Membership.of_size(3)
    return Exploding(membership, {a: "x" for a in membership})


@pytest.mark.slow
def test_an_exception_raised_on_an_actor_is_the_protocols_own(local_ray) -> None:
    from ray import cloudpickle

    from mabeam import run_protocol

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    release_actors()
    try:
        with pytest.raises(_Explodes, match="a1 cannot take Vote"):
            run_protocol(_exploding_majority(), "ray", timeout=10.0)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert pooled() == 0  # a failed run's actors are killed, never kept


@pytest.mark.slow
def test_a_finished_run_keeps_its_actors_for_the_next_session(local_ray) -> None:
    release_actors()
    proposals = {"a0": "x", "a1": "x", "a2": "y"}
    first = start_majority_vote(proposals, driver="ray")
    assert pooled() == 3
    second = start_majority_vote(proposals, driver="ray", seed=5)  # rebinds the same three actors
    assert pooled() == 3
    assert (first.decided_value, second.decided_value) == ("x", "x")
    release_actors()
    assert pooled() == 0


@pytest.mark.slow
def test_inside_an_event_loop_the_async_api_runs_on_ray(local_ray) -> None:
    import asyncio

    from mabeam import run_protocol_async
    from mabeam.core.identity import Membership
    from mabeam.protocols.majority import MajorityVoting

    membership = Membership.of_size(3)
    protocol = MajorityVoting(membership, {a: "x" for a in membership})
    result = asyncio.run(run_protocol_async(protocol, driver="ray"))
    assert (result.driver, result.status, result.decided_value) == ("ray", "decided", "x")
