"""The hierarchical protocol (spec/hierarchical.md) and live multi-level pipelines (mabeam.api.pipeline)."""

from __future__ import annotations

import importlib.util
import json
from fractions import Fraction
from pathlib import Path

import pytest
from reduction_audit import audit

from mabeam.api.pipeline import (
    CertificateError,
    ConsensusLevel,
    GroupVoteLevel,
    RefinementLevel,
    WeightedLevel,
    _HandOver,
    render,
    run_pipeline,
)
from mabeam.api.session import run_protocol
from mabeam.api.verify import build_model, check_protocol
from mabeam.checker.symmetry import Symmetry
from mabeam.core import (
    ConfigurationError,
    Decide,
    DuplicateAgentError,
    Evidence,
    InsufficientReplicasError,
    Reject,
)
from mabeam.core.auth import Ed25519Authenticator
from mabeam.protocols.hierarchical import (
    ENTRY,
    GroupCertificate,
    GroupVote,
    Hierarchical,
    TopDecision,
    build,
    faults_above,
    group_quorum,
    make_group,
    upper_threshold,
)

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ configuration
def test_quorum_and_threshold_arithmetic() -> None:
    assert [group_quorum(n, f) for n, f in [(1, 0), (3, 0), (4, 1), (7, 2), (10, 3), (15, 3)]] == [1, 2, 3, 5, 7, 10]
    assert upper_threshold(4, 1) == 3 and upper_threshold(3, 0) == 2


def test_group_size_bound_is_refused_with_a_typed_error() -> None:
    with pytest.raises(InsufficientReplicasError, match="n >= 4"):
        make_group("g", ["a", "b", "c"], 1)
    with pytest.raises(ConfigurationError, match="forwarders"):
        make_group("g", ["a", "b", "c", "d"], 1, ["z"])
    with pytest.raises(ConfigurationError):
        make_group("g", ["a"], -1)


def test_upper_level_bound_counts_over_bound_groups() -> None:
    groups = (make_group("g0", ["a0"], 0), make_group("g1", ["a1"], 0),
              make_group("g2", ["a2", "a3", "a4", "a5"], 1))
    assert faults_above(groups, {"a4", "a5"}) == 1 and faults_above(groups, {"a4"}) == 0
    inputs = {a: "x" for g in groups for a in g.members}
    with pytest.raises(InsufficientReplicasError, match="faulty group"):
        Hierarchical(groups, ("j0",), inputs, faulty_groups=1)
    with pytest.raises(InsufficientReplicasError):  # the layout whose accounting mutant disagrees
        build(8, 2)
    with pytest.raises(InsufficientReplicasError):
        build(7, 1)


def test_layout_validation() -> None:
    g0 = make_group("g0", ["a0"], 0)
    with pytest.raises(DuplicateAgentError):
        Hierarchical((g0,), ("a0",), {"a0": "x"})
    with pytest.raises(ConfigurationError, match="input"):
        Hierarchical((g0,), ("j0",), {})
    with pytest.raises(ConfigurationError, match="judge"):
        Hierarchical((g0,), (), {"a0": "x"})
    with pytest.raises(ConfigurationError, match="known layouts"):
        build(5, 5)


# ------------------------------------------------------------------ judges
@pytest.fixture
def small() -> Hierarchical:
    return build(6, 1)  # g0 = a0..a3 (a3 Byzantine representative), g1 = a4; one judge


def _quorum_for_x(p: Hierarchical) -> tuple[GroupVote, ...]:
    return tuple(p.signed_vote(a, "x") for a in ("a0", "a1", "a2"))


def test_a_valid_certificate_is_counted_and_an_altered_one_refused(small: Hierarchical) -> None:
    p = small
    g0 = p.group("g0")
    judge = p.start("j0").state
    altered = p.certificate("a3", g0, "y", _quorum_for_x(p))
    step = p.receive("j0", judge, altered)
    assert step.state == judge and step.effects == (Reject("invalid-certificate:value-mismatch", altered),)
    valid = p.certificate("a3", g0, "x", _quorum_for_x(p))
    step = p.receive("j0", judge, valid)
    assert step.state.tally == (("g0", "x", ("a0", "a1", "a2")),) and step.state.decided is None
    cert_g1 = p.certificate("a4", p.group("g1"), "x", (p.signed_vote("a4", "x"),))
    step = p.receive("j0", step.state, cert_g1)
    assert step.effects == (Decide("x"),) and step.state.decided == "x"


@pytest.mark.parametrize("kind,reason", [
    ("too-few", "too-few-signers"), ("repeated", "too-few-signers"), ("forged", "bad-signature"),
    ("foreign", "foreign-vote"),
])
def test_invalid_certificates_are_refused(small: Hierarchical, kind: str, reason: str) -> None:
    p = small
    g0 = p.group("g0")
    votes = list(_quorum_for_x(p))
    if kind == "too-few":
        votes = votes[:2]
    elif kind == "repeated":
        votes = [votes[0]] * 3
    elif kind == "forged":
        votes[1] = votes[1].replace(signature=b"\x01" * 16)
    else:
        votes[2] = votes[2].replace(session="other")
    cert = p.certificate("a3", g0, "x", votes)
    step = p.receive("j0", p.start("j0").state, cert)
    assert step.effects == (Reject(f"invalid-certificate:{reason}", cert),)


def test_a_bare_vote_is_not_a_group_output(small: Hierarchical) -> None:
    vote = small.signed_vote("a3", "x")
    step = small.receive("j0", small.start("j0").state, vote)
    assert step.effects == (Reject("uncertified-output", vote),)


def test_a_second_certified_value_of_a_group_is_evidence_not_a_vote() -> None:
    p = build(9, 2)  # g3 = a3..a6, two Byzantine: it can certify x and y
    g3 = p.group("g3")
    x = p.certificate("a4", g3, "x", [p.signed_vote(a, "x") for a in ("a4", "a5", "a3")])
    y = p.certificate("a3", g3, "y", [p.signed_vote(a, "y") for a in ("a3", "a4", "a6")])
    state = p.receive("j0", p.start("j0").state, x).state
    step = p.receive("j0", state, y)
    assert step.state.tally == state.tally and step.state.refused == {("g3", "y")}
    assert [type(e) for e in step.effects] == [Evidence] and step.effects[0].kind == "group-equivocation"


def test_forwarder_certifies_once_on_a_quorum(small: Hierarchical) -> None:
    p = small
    step = p.start("a0")
    assert step.state.role == "forwarder" and len(step.effects) == 3  # its vote to each peer
    state = p.receive("a0", step.state, p.signed_vote("a1", "x")).state
    step = p.receive("a0", state, p.signed_vote("a2", "x"))
    certs = [e.message for e in step.effects if isinstance(e.message, GroupCertificate)]
    assert step.state.certified == "x" and len(certs) == 1 and p.certificate_fault(certs[0]) is None
    assert p.receive("a0", step.state, p.signed_vote("a3", "x")).effects == ()


# ------------------------------------------------------------------ model checking
@pytest.mark.parametrize("size", [(9, 2), (6, 1), pytest.param((11, 0), marks=pytest.mark.slow)])
def test_small_layouts_every_property_holds(size: tuple[int, int]) -> None:
    result = check_protocol("hierarchical", *size)
    assert result.stats.complete
    assert all(r.status in ("holds", "reached", "not-checked") for r in result.results), result.results
    assert any(r.property.id == "HIER-R1" and r.status == "reached" for r in result.results)


@pytest.mark.slow
def test_standard_check_every_property_holds() -> None:
    result = check_protocol("hierarchical")
    assert result.stats.complete
    assert {r.property.id: r.status for r in result.results} == {
        "HIER-S1": "holds", "HIER-S2": "holds", "HIER-S3": "holds", "HIER-S4": "holds", "HIER-S5": "holds",
        "HIER-R1": "reached", "HIER-R2": "reached", "HIER-L1": "holds"}
    assert 10_000 < result.stats.distinct_states < 100_000


@pytest.mark.parametrize("mutant", ENTRY.mutants, ids=lambda m: m.name)
def test_every_mutant_is_caught_with_a_trace(mutant) -> None:
    result = check_protocol("hierarchical", mutant=mutant.name)
    caught = [r for r in result.results if r.status == "violated" and r.property.id in mutant.breaks]
    assert caught and all(r.trace is not None and len(r.trace) >= 1 for r in caught)


# ------------------------------------------------------------------ live
def test_the_core_runs_live_with_ed25519() -> None:
    base = build(11, 0)
    protocol = Hierarchical(base.groups, base.judges, base.inputs, session="live",
                            auth=Ed25519Authenticator(base.agents, seed="t"))
    result = run_protocol(protocol, seed=3)
    # only judges decide (members pass their vote up), so the run ends without "everyone decided"
    assert result.status != "violated" and result.decided_value == "x"
    assert set(result.decisions) == {"j0", "j1"}
    assert result.properties["HIER-S2"]["status"] == "holds"


def test_with_announcements_every_agent_ends_decided() -> None:
    protocol = build(11, 0)  # no faults placed: judges announce the top decision to the members
    assert protocol.announce
    result = run_protocol(protocol, seed=2)
    assert result.status == "decided" and result.decided_value == "x" and set(result.decisions) == set(protocol.agents)
    member = protocol.start("a1").state
    told = TopDecision(session=protocol.session, sender="a2", value="y")  # only a judge may announce
    assert protocol.receive("a1", member, told).effects == (Reject("not-an-announcement", told),)


def _load_example():
    spec = importlib.util.spec_from_file_location("hier_example", ROOT / "examples" / "hierarchical_ml_consensus.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_the_seed_scenario_reports_every_level(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = _load_example()
    out = tmp_path / "report.json"
    assert example.main(["--seed", "0", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for fragment in ("level 1: domain-experts [pbft] 7 agents, 2 Byzantine", "level 2: evaluators [weighted] 15",
                     "level 3: refinement-team [iterative] 20", "refused relay by evaluator0: value-mismatch",
                     "PBFT-S1 holds", "WV-S1 holds", "IR-S1 holds", "every monitored property held"):
        assert fragment in text
    report = json.loads(out.read_text())
    levels = report["levels"]
    assert [lv["agents"] for lv in levels] == [7, 15, 20]
    assert levels[0]["certificate"]["value"].startswith("shortlist=vit-b16")
    # each level consumes exactly the certified output of the level below
    assert levels[1]["consumed"] == levels[0]["certificate"]["value"]
    assert levels[2]["consumed"] == levels[1]["certificate"]["value"] == "vit-b16"
    assert all(len(lv["certificate"]["signers"]) >= lv["certificate"]["quorum"] for lv in levels)
    assert levels[2]["certificate"]["quorum"] == 12 and len(report["output"]) == 3
    again = example.run(0).to_json()
    assert json.dumps(again, sort_keys=True) == json.dumps(report, sort_keys=True)


def test_a_level_outside_its_bound_is_refused_before_anything_runs() -> None:
    levels = [ConsensusLevel("experts", tuple(f"e{i}" for i in range(6)), 2, lambda _: "p"),
              WeightedLevel("voters", {"v0": 1}, 0, lambda _: {"v0": "p"})]
    with pytest.raises(InsufficientReplicasError, match="experts"):
        run_pipeline(levels)


def test_the_hand_over_refuses_altered_and_insufficient_certificates() -> None:
    members = ("m0", "m1", "m2", "m3")
    handover = _HandOver("s", Ed25519Authenticator(members, seed="k"))
    cert, raw = handover.certify(1, "L", members, 1, {m: "v" for m in members[1:]}, ["m0"], None)
    assert cert.forwarder == "m1" and cert.refused == [("m0", "value-mismatch")] and cert.value == "v"
    assert handover.fault(raw, 2, members, 3, None) == "wrong-context"  # bound to its level
    with pytest.raises(CertificateError):
        handover.certify(1, "L", members, 1, {"m1": "v", "m2": "w"}, ["m0"], None)
    vectors = {"m0": "1/2,1/4", "m1": "17/32,1/4", "m2": "1/2,9/32"}
    cert, _ = handover.certify(1, "R", members, 1, vectors, ["m3"], Fraction(1, 16))
    assert cert.value == (Fraction(1, 2), Fraction(1, 4))  # the coordinate-wise median


def test_pipeline_with_group_votes_and_refinement_on_the_runtime() -> None:
    groups = (make_group("g0", ["a0", "a1", "a2", "a3"], 1), make_group("g1", ["b0"], 0),
              make_group("g2", ["c0"], 0))
    levels = [
        GroupVoteLevel("groups", groups, ("j0", "j1", "j2", "j3"),
                       lambda _: {"a0": "0.5", "a1": "0.5", "a2": "0.5", "a3": "0.9", "b0": "0.5", "c0": "0.5"},
                       byzantine={"a3": "silent"}),
        RefinementLevel("refine", tuple(f"r{i}" for i in range(4)), 1,
                        lambda start: {f"r{i}": (Fraction(start) + Fraction(i, 20),) for i in range(4)},
                        (0, 1), 3),
    ]
    report = run_pipeline(levels, driver="runtime", seed=1)
    assert [lv.status for lv in report.levels] == ["decided", "decided"]
    assert report.levels[0].certificate.value == "0.5" and report.levels[1].consumed == "0.5"
    assert report.all_properties_hold and "HIER-S2" in report.levels[0].properties
    assert "level 2: refine [iterative]" in render(report)


# ------------------------------------------------------------------ state-space reduction declarations
@pytest.mark.parametrize("mutant", [m.name for m in ENTRY.mutants])
def test_reduction_declarations_hold_on_every_mutant_world(mutant: str) -> None:
    """``reads``, ``sends_no_more`` (members, judges without announcements, forwarders once they certified)
    and ``symmetry`` (the judges, where a layout has two) audited on every reachable world of each
    mutant's check (``tests/reduction_audit.py``)."""
    model = build_model(ENTRY, mutant=mutant)
    worlds, silent, generators = audit(model, ENTRY.properties)
    assert worlds > 0 and silent > 0
    assert generators == len(model.protocol.judges) - 1


@pytest.mark.slow
def test_reduction_declarations_hold_on_the_standard_check() -> None:
    """The same on the standard layout (32,760 worlds; judges j0 and j1 interchangeable)."""
    worlds, silent, generators = audit(build_model(ENTRY), ENTRY.properties)
    assert worlds == 32_760 and silent > 0 and generators == 1


def test_only_the_judges_are_declared_interchangeable() -> None:
    protocol = build()
    assert protocol.symmetry() == (frozenset({"j0", "j1"}),)
    assert Symmetry(build_model(ENTRY)).positions == [(10, 11)]


def test_a_renamed_vote_is_signed_by_its_new_sender() -> None:
    protocol = build()
    vote = protocol.signed_vote("a1", "x")
    renamed = vote.replace(sender="a2")
    assert not protocol.auth.verify(renamed) and protocol.auth.verify(protocol.rename_signature(vote, renamed))
    forged = vote.replace(signature=b"\x00" * 16)
    assert not protocol.auth.verify(protocol.rename_signature(forged, forged.replace(sender="a2")))
    cert = protocol.certificate("a0", protocol.groups[0], "x", (vote,))
    moved = cert.replace(sender="a1")
    assert protocol.rename_signature(cert, moved) is moved  # a certificate carries no signature of its own
