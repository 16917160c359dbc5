"""The ML/LLM scenario examples: they run, their reports say what the protocols guarantee, same seed same report."""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


training = _load("distributed_ml_training")
ensemble = _load("llm_ensemble_reasoning")


@cache
def training_report(seed: int = 0) -> str:
    return json.dumps(training.run(seed, rounds=2, candidates=3, small=True), sort_keys=True)


@cache
def ensemble_report(seed: int = 0) -> str:
    return json.dumps(ensemble.run(seed, questions=4), sort_keys=True)


def _training(seed: int = 0) -> dict[str, Any]:
    return json.loads(training_report(seed))


def _ensemble(seed: int = 0) -> dict[str, Any]:
    return json.loads(ensemble_report(seed))


# ------------------------------------------------------------------ distributed training
def test_training_every_step_decides_and_agrees_with_properties_monitored() -> None:
    report = _training()
    assert report["all_decided"] and report["all_agree"] and report["all_properties_hold"]
    protocols = [s["protocol"] for s in report["steps"]]
    assert protocols[0].startswith("weighted vote")
    assert sum(p.startswith("PBFT") for p in protocols) == 3  # job plan, recovery plan, checkpoint
    assert sum(p.startswith("iterative") for p in protocols) == 2
    for step in report["steps"]:
        assert step["messages"] > 0 and step["virtual_seconds"] > 0
        assert step["properties"] and all(v != "violated" for v in step["properties"].values())
        assert "gpu-workstation-3" in step["byzantine"]


def test_training_allocation_is_weighted_by_capacity() -> None:
    report = _training()
    allocation = report["steps"][0]
    tally = allocation["capacity_tally"]
    assert allocation["decided"] == report["plan"] == max(tally, key=tally.get)
    assert tally[report["plan"]] * 3 > 2 * sum(tally.values())
    # by head count the plan has no strict majority: capacity weighting is what carries it
    assert allocation["head_count"][report["plan"]] * 2 <= report["workers"]
    job = report["steps"][1]
    assert job["decided"].startswith(f"job-v1|{report['plan']}|")
    shards = sum(int(part.split(":")[1]) for part in job["decided"].split("|")[2].split(","))
    assert shards == 96


def test_training_search_trims_the_poisoned_proposal_and_survives_crashes() -> None:
    report = _training()
    rounds = [s for s in report["steps"] if s["protocol"].startswith("iterative")]
    for step in rounds:
        low_high = step["honest_input_range"]
        assert all(lo <= v <= hi for v, (lo, hi) in zip(step["decided"], low_high))  # validity: poison trimmed
        assert step["decided_spread"] <= step["epsilon"]
        assert "equivocation against gpu-workstation-3" in step["evidence"]
        assert [r["round"] for r in step["convergence"]] == list(range(1, step["protocol_rounds"] + 1))
    assert rounds[1]["crash_stopped"] == sorted(training.SEARCH_CRASHES)
    assert rounds[1]["convergence"][-1]["received"] < report["workers"]  # the crashed stayed silent
    recovery = next(s for s in report["steps"] if s["step"].startswith("fault recovery"))
    assert recovery["crashed"] == sorted(training.RECOVERY_CRASH)
    assert all(name not in recovery["decided"] for name in training.SEARCH_CRASHES)
    assert recovery["decided"].startswith("job-v2|")


def test_training_keeps_the_checkpoint_the_median_picks() -> None:
    report = _training()
    keep = report["steps"][-1]
    medians = keep["median_reports"]
    assert keep["decided"] == "keep " + min(medians, key=lambda c: (medians[c], c))
    assert keep["crashed"] == sorted(training.CHECKPOINT_CRASH)
    assert keep["naive_mean_choice"] in medians


def test_training_same_seed_same_report_other_seed_other_search() -> None:
    assert training_report(0) == json.dumps(training.run(0, rounds=2, candidates=3, small=True), sort_keys=True)
    other = _training(1)
    assert other["optimum"] != _training(0)["optimum"]
    assert other["all_agree"] and other["all_properties_hold"]


# ------------------------------------------------------------------ LLM ensemble
def test_ensemble_answers_were_proposed_and_votes_agree() -> None:
    report = _ensemble()
    assert report["all_agree"] and report["all_properties_hold"]
    assert len(report["questions"]) == 4
    for q in report["questions"]:
        final = q["pipeline"]["final"]
        assert q["ensemble_answer"] is None or q["ensemble_answer"] in q["proposed_answers"]
        assert set(final["honest_answers"]) <= set(q["proposed_answers"])
        assert q["correct"] == (q["ensemble_answer"] == q["truth"])
        assert 1 <= q["rounds_used"] <= 6
        assert final["history"] and all(h["plurality"] in final["candidates"] for h in final["history"])
        assert all(h["support"] <= 1 for h in final["history"])
        assert q["pipeline"]["decomposition"]["used"] in ensemble.DECOMPOSITIONS


def test_ensemble_certification_weights_come_from_calibration() -> None:
    report = _ensemble()
    weights = {a["name"]: a["weight"] for a in report["agents"]}
    assert weights["contrarian"] == 1  # always wrong on calibration: the minimum weight
    assert all(1 <= w <= 11 for w in weights.values())
    for q in report["questions"]:
        cert = q["pipeline"]["certification"]
        assert cert["total_weight"] == sum(weights.values()) == sum(cert["tally"].values())
        if cert["decided"] is not None:
            assert cert["tally"][cert["decided"]] * 3 > 2 * cert["total_weight"]


def test_ensemble_accuracy_figures_are_consistent() -> None:
    report = _ensemble()
    questions = report["questions"]
    acc = report["accuracy"]
    assert acc["ensemble"] == sum(q["correct"] for q in questions) / len(questions)
    assert acc["naive_majority"] == sum(q["naive_correct"] for q in questions) / len(questions)
    best = acc["best_single_agent_name"]
    assert best not in ("contrarian", "equivocator")
    assert acc["best_single_agent"] == max(v for k, v in acc["per_agent"].items()
                                           if k not in ("contrarian", "equivocator"))
    assert acc["per_agent"]["contrarian"] == 0  # it always gives the distractor


def test_ensemble_is_deterministic_by_seed() -> None:
    assert ensemble_report(0) == json.dumps(ensemble.run(0, questions=4), sort_keys=True)
    assert ensemble_report(1) != ensemble_report(0)


@pytest.mark.parametrize("module, args", [
    ("training", ["--small", "--rounds", "1"]),
    ("ensemble", ["--questions", "2"]),
])
def test_main_writes_the_json_report(module: str, args: list[str], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.json"
    main = (training if module == "training" else ensemble).main
    assert main([*args, "--seed", "3", "--json", str(target)]) == 0
    data = json.loads(target.read_text())
    assert data["seed"] == 3 and data["all_properties_hold"] is True
    assert "wall" not in target.read_text()
    key = "steps" if module == "training" else "questions"
    assert isinstance(data[key], list) and data[key]
    assert "monitor" in capsys.readouterr().out if module == "training" else "accuracy" in capsys.readouterr().out
