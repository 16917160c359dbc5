"""Linear-communication weighted voting (spec/weighted.md, "Linear mode"): correctness, not speed."""

from __future__ import annotations

from mabeam.api.session import start_weighted_vote
from mabeam.api.verify import build_model
from mabeam.checker import check
from mabeam.core import Reject
from mabeam.protocols.weighted import ENTRY, Certificate, LinearWeightedVoting, SignedVote, build


def _linear(n: int = 4, f: int = 1) -> LinearWeightedVoting:
    protocol = build(n, f, communication="linear")
    assert isinstance(protocol, LinearWeightedVoting)
    return protocol


def test_the_linear_sweep_point_holds_every_property_exhaustively() -> None:
    point = next(p for p in ENTRY.sweep_points() if p.label.startswith("n=4 f=1: linear"))
    assert point.factory is not None
    result = check(build_model(ENTRY, point.agents, point.faulty, factory=point.factory), ENTRY.properties)
    verdicts = {r.property.id: r.status for r in result.results}
    assert result.stats.complete and result.ok, verdicts
    assert verdicts["WV-C1"] == verdicts["WV-C2"] == "holds" and verdicts["WV-R2"] == "reached"
    assert verdicts["WV-L1"] == "holds"
    assert result.stats.distinct_states == 1_496  # spec/weighted.md, "Linear mode"


def test_members_send_one_vote_to_the_collector_and_only_it_broadcasts() -> None:
    protocol = _linear()
    effects = {a: protocol.start(a).effects for a in protocol.agents}
    assert [type(e).__name__ for e in effects["a1"]] == ["Send"]
    assert effects["a1"][0].to == "a0" and isinstance(effects["a1"][0].message, SignedVote)  # type: ignore[attr-defined]
    assert effects["a0"] == ()  # a0 (weight 5 of 9) cannot decide alone


def test_a_certificate_below_the_quorum_or_badly_signed_is_refused() -> None:
    protocol = _linear()
    state = protocol.start("a1").state
    weak = protocol.signer("a3").sign(Certificate(session="s0", sender="a3", value="y", votes=(
        protocol.signed_vote("a2", "y"), protocol.signed_vote("a3", "y"))))  # type: ignore[arg-type]
    step = protocol.receive("a1", state, weak)
    assert step.state == state and step.effects == (Reject("certificate-below-quorum", weak),)
    forged_vote = SignedVote(session="s0", sender="a0", value="x", signature=b"\x00" * 16)
    forged = protocol.signer("a3").sign(Certificate(session="s0", sender="a3", value="x", votes=(
        forged_vote, protocol.signed_vote("a1", "x"), protocol.signed_vote("a3", "x"))))  # type: ignore[arg-type]
    assert protocol.receive("a1", state, forged).effects == (Reject("bad-certificate-vote", forged),)


def test_a_sound_certificate_is_counted_vote_by_vote_and_decides() -> None:
    protocol = _linear()
    collector = protocol.start("a0").state
    collector = protocol.receive("a0", collector, protocol.signed_vote("a1", "x")).state
    assert collector.decided == "x"
    cert = protocol.certificate("a0", collector)  # type: ignore[arg-type]
    assert {v.sender for v in cert.votes} == {"a0", "a1"}
    step = protocol.receive("a2", protocol.start("a2").state, cert)
    assert step.state.decided == "x" and step.state.votes == ("x", "x", "y", None)


def test_200_agents_decide_in_the_runtime_with_linear_messages() -> None:
    agents = [f"a{i}" for i in range(200)]
    weights = {a: (5 if i % 7 == 0 else 1) for i, a in enumerate(agents)}
    proposals = {a: ("plan-B" if i % 9 == 0 and weights[a] == 1 else "plan-A") for i, a in enumerate(agents)}
    result = start_weighted_vote(proposals, weights, driver="runtime", communication="linear", timeout=60,
                                 stop_when_decided=True, monitor="end")
    assert result.status == "decided" and not result.violations()
    assert {d.value for ds in result.decisions.values() for d in ds} == {"plan-A"}
    assert result.messages.sent == 2 * (len(agents) - 1)  # all-to-all would send 39,800
