"""``mabeam check X --sweep`` and ``--views``: what every protocol declares, how a point is reported.

The declarations are checked fast (the sizes where the bounds differ are all there);
the slow tier runs every protocol's whole sweep and prints the table with its total time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from mabeam.api.registry import builtin_entries, get
from mabeam.api.verify import build_model, sweep_protocol
from mabeam.cli.checking import sweep_verdicts
from mabeam.cli.main import main
from mabeam.core.catalog import SweepPoint
from mabeam.core.properties import Kind
from mabeam.protocols.hierarchical.config import faults_above

QUORUM_SIZES = ("weighted", "iterative", "pbft")  # Byzantine quorums: n = 3f+1 and n = 3f+2 differ
CRASH_SIZES = ("majority", "iterative-categorical")


def _points(name: str) -> tuple[SweepPoint, ...]:
    return get(name).sweep_points()


@pytest.mark.parametrize("name", sorted(builtin_entries()))
def test_every_protocol_declares_a_sweep_that_builds(name: str) -> None:
    entry = get(name)
    assert entry.sweep, f"{name} declares no sweep"
    labels = [p.label for p in entry.sweep]
    assert len(set(labels)) == len(labels)
    for point in entry.sweep:
        model = build_model(entry, point.agents, point.faulty, factory=point.factory, **point.check)
        assert model.protocol.n == point.agents


@pytest.mark.parametrize("name", QUORUM_SIZES)
def test_byzantine_quorum_sweeps_cover_3f1_3f2_f1_f2_odd_even(name: str) -> None:
    sizes = {(p.agents, p.faulty) for p in _points(name)}
    for f in (1, 2):
        assert (3 * f + 1, f) in sizes and (3 * f + 2, f) in sizes, (name, f, sizes)
    assert {n % 2 for n, _ in sizes} == {0, 1}


@pytest.mark.parametrize("name", CRASH_SIZES)
def test_crash_sweeps_cover_odd_even_and_f1_f2(name: str) -> None:
    sizes = {(p.agents, p.faulty) for p in _points(name)}
    assert {n % 2 for n, _ in sizes} == {0, 1}
    assert {f for _, f in sizes} >= {1, 2}


def test_pbft_sweep_has_up_to_two_view_changes_with_a_byzantine_primary() -> None:
    entry = get("pbft")
    views = set()
    for point in entry.sweep:
        model = build_model(entry, point.agents, point.faulty, factory=point.factory, **point.check)
        config = model.protocol.config  # type: ignore[attr-defined]
        if config.linear and "honest collector" in point.label:  # the collector's own path, a backup faulty
            assert config.primary(0) not in model.config.byzantine and model.config.byzantine
            continue
        assert config.primary(0) in model.config.byzantine
        if config.max_view:  # an honest primary within the view bound: PBFT-L1 is promised, so it can fail
            assert any(config.primary(v) not in model.config.byzantine for v in range(1, config.max_view + 1))
        views.add((config.max_view, config.adversary))
    assert {(1, "full"), (2, "full")} <= views and (1, "silent") in views


def test_adaptive_sweep_has_three_stages_with_and_without_a_byzantine_member() -> None:
    entry = get("adaptive")
    three = [p for p in entry.sweep
             if len(build_model(entry, p.agents, p.faulty, factory=p.factory).protocol.stages) == 3]  # type: ignore[attr-defined]
    assert {p.faulty for p in three} == {0, 1}


def test_hierarchical_sweep_has_an_over_bound_group_and_a_byzantine_representative() -> None:
    entry = get("hierarchical")
    over, representative = False, False
    for p in entry.sweep:
        model = build_model(entry, p.agents, p.faulty, factory=p.factory)
        groups, byzantine = model.protocol.groups, model.config.byzantine  # type: ignore[attr-defined]
        over |= faults_above(groups, byzantine) > 0
        representative |= any(g.representative in byzantine for g in groups)
    assert over and representative


def test_a_point_that_closes_is_exhaustive_and_its_row_says_so() -> None:
    (row,) = sweep_protocol("hierarchical", only="6/1")
    data = row.to_json()
    assert data["mode"] == "exhaustive" and data["complete"] and data["walk_states"] is None
    assert data["states"] > 0 and data["depth"] > 0 and not data["violated"] and data["unreached"] == []
    assert set(data["verdicts"].values()) <= {"holds", "reached", "not-checked"}
    assert "holds" in sweep_verdicts(data) and "not exhaustive" not in sweep_verdicts(data)


def test_a_point_cut_by_its_budget_is_bounded_then_walked_and_never_holds() -> None:
    (row,) = sweep_protocol("majority", only="n=4 f=1", max_states=200, seed=3)
    data = row.to_json()
    assert data["mode"] == "bounded+walks" and not data["complete"] and "200" in data["bound"]
    assert data["walk_states"] > 0 and data["walks"] == {"walks": 80, "steps": 120}
    assert "holds" not in {data["verdicts"][p.id] for p in get("majority").properties if p.kind.value == "always"}
    assert sweep_verdicts(data).startswith("no violation found (not exhaustive)")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_views_is_refused_where_it_means_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "check", "majority", "--views", "1")
    assert code == 2 and "no view changes" in err and "pbft" in err
    code, _, err = _run(capsys, "check", "pbft", "--views", "1", "--sweep")
    assert code == 2 and "--views" in err
    code, _, err = _run(capsys, "check", "majority", "--views", "1", "--mutant", "forget-decision")
    assert code == 2 and "no view changes" in err


def test_views_with_a_mutant_checks_that_mutant_at_the_view_bound(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Any) -> None:
    """``--views V --mutant M``: the mutant rebuilt with the view bound V (PBFT's ``max_view``); its
    counterexample is found there and its trace file replays at the same bound."""
    assert get("pbft").mutant("never-suspects").with_options(max_view=2)(4, 1).config.max_view == 2  # type: ignore[attr-defined]
    out_file = tmp_path / "t.json"
    code, out, _ = _run(capsys, "check", "pbft", "--views", "2", "--mutant", "never-suspects", "--json",
                        "--trace-out", str(out_file))
    data = json.loads(out)
    assert code == 1 and data["model"]["views"] == 2 and data["model"]["mutant"] == "never-suspects"
    assert {p["id"]: p["status"] for p in data["properties"]}["PBFT-L1"] == "violated"
    code, out, _ = _run(capsys, "replay", str(out_file))
    assert code == 0, out


def test_views_sets_the_view_bound_and_the_trace_file_replays_it(capsys: pytest.CaptureFixture[str],
                                                                  tmp_path: Any) -> None:
    out_file = tmp_path / "t.json"
    code, _, _ = _run(capsys, "check", "pbft", "--views", "0", "--quiet", "--trace-out", str(out_file))
    assert code == 0
    data = json.loads(out_file.read_text())
    assert data["model"]["views"] == 0
    assert get("pbft").views is not None
    assert get("pbft").views(2)(4, 1).config.max_view == 2  # type: ignore[attr-defined]


# ------------------------------------------------------------------ slow: the sweeps themselves
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(builtin_entries()))
def test_sweep_finds_no_violation(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    started = time.perf_counter()
    code, out, _ = _run(capsys, "check", name, "--sweep", "--json")
    data = json.loads(out)
    assert not [r["label"] for r in data["sweep"] if r["violated"]], data
    liveness = {p.id for p in get(name).properties if p.kind is Kind.EVENTUALLY}
    for r in data["sweep"]:
        assert r["mode"] in ("exhaustive", "bounded+walks")
        if r["mode"] == "exhaustive":  # only liveness may stay open there (its graph over the memory budget)
            assert {k for k, v in r["verdicts"].items() if v == "incomplete"} <= liveness, r
    if name == "adaptive":  # three stages close at n=3 (a Byzantine member's three-stage point does not)
        assert next(r for r in data["sweep"] if "three stages b" in r["label"])["mode"] == "exhaustive"
    settled = all(r["mode"] == "exhaustive" and "incomplete" not in r["verdicts"].values() for r in data["sweep"])
    assert code in (0, 3) and (code == 0) == settled
    with capsys.disabled():  # the table for the record (pytest -s)
        print(f"\n{name} sweep: {time.perf_counter() - started:.1f} s")
        for r in data["sweep"]:
            print(f"  {r['label']:<62} {r['mode']:<13} {r['states']:>9,} states depth {r['depth']:>3} "
                  f"{r['seconds']:>6.1f} s  {sweep_verdicts(r)}")
