"""Adaptive coordination: configuration, steps (locks, switches, refusals, deadline), checks, live runs."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from reduction_audit import audit, audit_symmetry, reachable

from mabeam.api.adaptive import report, run_adaptive_coordination
from mabeam.api.verify import build_model, check_protocol
from mabeam.checker import ActorModel, CheckConfig, check
from mabeam.core import (
    AgentId,
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Decide,
    Defer,
    Evidence,
    InsufficientReplicasError,
    InvalidWeightError,
    MalformedMessageError,
    Membership,
    Reject,
    SetTimer,
    Step,
)
from mabeam.core.auth import SymbolicAuthenticator
from mabeam.models import adaptive as z3_model
from mabeam.protocols import classes_by
from mabeam.protocols.adaptive import (
    DEADLINE_TIMER,
    ENTRY,
    PROPERTIES,
    AdaptiveCoordination,
    Alarm,
    Commit,
    Decided,
    Lock,
    StageSpec,
    Switch,
    Vote,
    build,
    crash_bound_configuration,
    evidence_configuration,
    stage_timer,
)
from mabeam.protocols.adaptive import config as adaptive_config
from mabeam.protocols.adaptive.config import byzantine_quorum, switch_quorum
from mabeam.protocols.adaptive.state import DECIDED, NO_DECISION, AdaptiveState

GROUP = Membership.of_size(4).agents  # a0..a3


def four(kinds: str = "bw", **kwargs: object) -> AdaptiveCoordination:
    return build(4, 1, kinds=kinds, **kwargs)  # type: ignore[arg-type]


def signed(p: AdaptiveCoordination, message: object) -> object:
    return p.signer(message.sender).sign(message)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ configuration
def test_quorum_arithmetic_of_the_standard_chain() -> None:
    p = four("bwm")
    assert [s.quorum for s in p.stages] == [byzantine_quorum(4, 1), 7, 3] == [3, 7, 3]  # expert a2 weighs 7 of 10
    assert p.switch_quorum(0) == 3  # to a Byzantine-tolerant stage: meets a decision quorum in f+1
    assert switch_quorum(p.stages[1], p.stages[2]) == 10 - 7 + 1  # to crash-only: meets it in one unit
    assert [s.guarantee for s in p.stages] == ["byzantine-count", "byzantine-weight", "crash-only"]
    assert p.guarantee_through(2) == "crash-only"


@pytest.mark.parametrize("chain, error", [
    ((), ConfigurationError),
    ((StageSpec("majority"), StageSpec("byzantine")), ConfigurationError),  # a chain never gets stronger
    ((StageSpec("byzantine", faulty=2),), InsufficientReplicasError),
    ((StageSpec("weighted", weights={a: 1 for a in GROUP}, faulty_weight=2),), InvalidWeightError),
    ((StageSpec("weighted"),), InvalidWeightError),
    ((StageSpec("weighted", weights={**{a: 1 for a in GROUP}, "zz": 1}),), InvalidWeightError),
    ((StageSpec("byzantine", weights={a: 1 for a in GROUP}),), ConfigurationError),
    ((StageSpec("paxos"),), ConfigurationError),
    ((StageSpec("byzantine", share=1.5),), ConfigurationError),
])
def test_bad_chains_are_refused(chain: tuple, error: type[Exception]) -> None:
    with pytest.raises(error):
        AdaptiveCoordination(Membership(GROUP), {a: "x" for a in GROUP}, chain)


@pytest.mark.parametrize("kwargs", [{"deadline": 0}, {"deadline": float("inf")}, {"adversary": "loud"},
                                    {"allow_weaker_after_evidence": 1}])
def test_bad_options_are_refused(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        AdaptiveCoordination(Membership(GROUP), {a: "x" for a in GROUP}, (StageSpec("majority"),), **kwargs)


def test_inputs_must_cover_the_membership() -> None:
    with pytest.raises(ConfigurationError):
        AdaptiveCoordination(Membership(GROUP), {"a0": "x"}, (StageSpec("majority"),))
    with pytest.raises(ConfigurationError):
        AdaptiveCoordination(Membership(GROUP), {a: "" for a in GROUP}, (StageSpec("majority"),))


# ------------------------------------------------------------------ messages
def test_messages_round_trip_and_malformed_bytes_are_refused() -> None:
    p = four()
    vote = signed(p, Vote(session="s0", sender="a1", stage=0, value="x"))
    lock = Lock(0, "x", (vote,))
    switch = signed(p, Switch(session="s0", sender="a1", stage=0, vote="x", lock=lock, cause="c"))
    for message in (vote, switch):
        assert p.codec.decode(p.codec.encode(message)) == message
    with pytest.raises(MalformedMessageError):
        p.codec.decode(msgspec.msgpack.encode({"type": "adaptive.vote", "session": "s0", "sender": "a1",
                                               "stage": -1, "value": "x"}))


def test_a_forged_signature_is_rejected() -> None:
    p = four()
    state = p.start("a0").state
    forged = Vote(session="s0", sender="a1", stage=0, value="y", signature=b"\0" * 16)
    step = p.receive("a0", state, forged)
    assert step.state == state and isinstance(step.effects[0], Reject)
    assert step.effects[0].reason == "bad-signature"


# ------------------------------------------------------------------ steps
def _lock_at(p: AdaptiveCoordination, agent: str, value: str, voters: tuple[str, ...]):  # type: ignore[no-untyped-def]
    state = p.start(agent).state
    for v in voters:
        if v != agent:
            state = p.receive(agent, state, signed(p, Vote(session="s0", sender=v, stage=0, value=value))).state
    return state


def test_a_quorum_of_votes_locks_and_commits_then_commits_decide() -> None:
    p = four()
    state = p.start("a0").state
    state = p.receive("a0", state, signed(p, Vote(session="s0", sender="a1", stage=0, value="x"))).state
    step = p.receive("a0", state, signed(p, Vote(session="s0", sender="a3", stage=0, value="x")))
    assert step.state.committed and step.state.lock is not None and step.state.lock.value == "x"
    assert any(isinstance(e, Broadcast) and isinstance(e.message, Commit) for e in step.effects)
    state = step.state
    for sender in ("a1", "a3"):
        step = p.receive("a0", state, signed(p, Commit(session="s0", sender=sender, stage=0, value="x")))
        state = step.state
    assert state.outcome is not None and state.outcome.kind == DECIDED and state.outcome.value == "x"
    assert state.outcome.protocol == "byzantine" and state.outcome.guarantee == "byzantine-count"
    assert Decide("x") in step.effects
    assert any(isinstance(e, Broadcast) and isinstance(e.message, Decided) for e in step.effects)


def test_a_switch_certificate_carries_the_lock_into_the_next_stage() -> None:
    """a2 (input y) leaves stage 0 on a certificate holding a1's lock on x: its next vote is x."""
    p = four()
    locked = _lock_at(p, "a1", "x", ("a0", "a1", "a3"))
    a1_switch = p.fire("a1", locked, stage_timer(0))
    switch = next(e.message for e in a1_switch.effects if isinstance(e, Broadcast))
    assert isinstance(switch, Switch) and switch.lock is not None and switch.lock.value == "x"
    state = p.fire("a2", p.start("a2").state, stage_timer(0)).state
    assert state.switched.startswith("unresponsive")  # a2 heard only itself
    state = p.receive("a2", state, switch).state
    byzantine = signed(p, Switch(session="s0", sender="a3", stage=0, vote="y"))
    step = p.receive("a2", state, byzantine)
    assert step.state.stage == 1 and step.state.input == "x"
    record = step.state.log[0]
    assert (record.source, record.target, record.forced) == (0, 1, "x")
    assert record.certificate == ("a1", "a2", "a3") and record.cause.startswith("unresponsive")
    votes = [e.message for e in step.effects if isinstance(e, Broadcast)]
    assert votes and votes[0] == signed(p, Vote(session="s0", sender="a2", stage=1, value="x"))


def test_a_switch_with_a_forged_lock_is_rejected() -> None:
    p = four()
    fake = Vote(session="s0", sender="a0", stage=0, value="y", signature=b"\1" * 16)
    switch = signed(p, Switch(session="s0", sender="a3", stage=0, vote="y", lock=Lock(0, "y", (fake,) * 3)))
    step = p.receive("a1", p.start("a1").state, switch)
    assert isinstance(step.effects[0], Reject) and step.effects[0].reason == "invalid-lock"


def test_equivocation_is_evidence_and_blocks_the_majority_fallback() -> None:
    p = four("bm")
    state = p.start("a0").state
    state = p.receive("a0", state, signed(p, Vote(session="s0", sender="a3", stage=0, value="x"))).state
    step = p.receive("a0", state, signed(p, Vote(session="s0", sender="a3", stage=0, value="y")))
    assert step.state.evidence == {"a3"}
    assert any(isinstance(e, Evidence) and e.against == "a3" for e in step.effects)
    alarm = next(e.message for e in step.effects if isinstance(e, Broadcast))
    assert isinstance(alarm, Alarm)
    refused = p.fire("a0", step.state, stage_timer(0))
    assert refused.state.refused and not refused.effects  # no SWITCH vote
    assert refused.state.refusals[0].reason.startswith("equivocation evidence")
    relayed = p.receive("a1", p.start("a1").state, alarm).state  # a third party verifies the alarm
    assert relayed.evidence == {"a3"}
    allowed = four("bm", allow_weaker_after_evidence=True)
    assert allowed.admissible(step.state, 1) is None


def test_majority_is_refused_when_the_crash_bound_is_not_below_half() -> None:
    p = crash_bound_configuration()
    step = p.fire("a0", p.start("a0").state, stage_timer(0))
    assert step.state.refused and step.state.refusals[0].reason.startswith("precondition")


def test_messages_of_a_later_stage_are_deferred_and_of_an_earlier_one_ignored() -> None:
    p = four()
    state = p.start("a0").state
    later = signed(p, Vote(session="s0", sender="a1", stage=1, value="x"))
    assert isinstance(p.receive("a0", state, later).effects[0], Defer)


def test_the_deadline_ends_an_undecided_node_with_an_explicit_no_decision() -> None:
    p = four()
    step = p.fire("a0", p.start("a0").state, "deadline")
    assert step.state.outcome is not None and step.state.outcome.kind == NO_DECISION
    assert not any(isinstance(e, Decide) for e in step.effects)
    assert p.fire("a0", step.state, "deadline").state == step.state


def test_a_decision_certificate_is_adopted_and_a_forged_one_refused() -> None:
    p = four()
    commits = tuple(signed(p, Commit(session="s0", sender=a, stage=0, value="x")) for a in ("a0", "a1", "a3"))
    good = signed(p, Decided(session="s0", sender="a0", stage=0, value="x", proof=commits))
    step = p.receive("a2", p.start("a2").state, good)
    assert step.state.decided == "x" and Decide("x") in step.effects
    short = signed(p, Decided(session="s0", sender="a0", stage=0, value="x", proof=commits[:2]))
    assert isinstance(p.receive("a2", p.start("a2").state, short).effects[0], Reject)


# ------------------------------------------------------------------ model checking
def test_the_properties_are_registered_with_ids() -> None:
    assert [p.id for p in PROPERTIES] == ["ADAPT-S1", "ADAPT-S2", "ADAPT-S3", "ADAPT-S4", "ADAPT-S5",
                                          "ADAPT-R1", "ADAPT-R2", "ADAPT-R3", "ADAPT-L1"]


@pytest.mark.parametrize("name", ["majority-despite-crash-bound", "no-deadline", "decision-without-provenance",
                                  "deadline-overrides-decision"])
def test_small_mutants_are_caught_with_a_trace(name: str) -> None:
    mutant = ENTRY.mutant(name)
    result = check_protocol("adaptive", mutant=name)
    caught = [r for r in result.results if r.status == "violated" and r.property.id in mutant.breaks]
    assert caught and caught[0].trace is not None and caught[0].trace.steps


def test_the_correct_protocol_passes_the_small_mutant_configurations() -> None:
    for protocol in (crash_bound_configuration(), build(2, 0, kinds="bm"), build(2, 0, kinds="bwm")):
        result = check(ActorModel(protocol, CheckConfig(network="duplicating", intruder=True)), PROPERTIES)
        assert result.stats.complete
        assert all(r.status in ("holds", "reached", "unreached", "not-checked") for r in result.results), \
            [(r.property.id, r.status) for r in result.results]


@pytest.mark.slow
def test_the_standard_check_holds_everywhere() -> None:
    result = check_protocol("adaptive")
    statuses = {r.property.id: r.status for r in result.results}
    assert result.stats.complete
    assert statuses == {"ADAPT-S1": "holds", "ADAPT-S2": "holds", "ADAPT-S3": "holds", "ADAPT-S4": "holds",
                        "ADAPT-S5": "holds", "ADAPT-R1": "reached", "ADAPT-R2": "reached",
                        "ADAPT-R3": "reached", "ADAPT-L1": "holds"}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fallback-after-byzantine-decision", "smaller-switch-quorum",
                                  "majority-despite-evidence"])
def test_larger_mutants_are_caught(name: str) -> None:
    mutant = ENTRY.mutant(name)
    result = check_protocol("adaptive", mutant=name)
    assert any(r.status == "violated" and r.property.id in mutant.breaks for r in result.results)


@pytest.mark.slow
@pytest.mark.parametrize("make, byzantine", [
    (lambda: evidence_configuration(), {"a2"}),
    (lambda: evidence_configuration(allow_weaker_after_evidence=True), {"a2"}),
    (lambda: build(4, 1, kinds="bw", adversary="silent"), {"a3"}),
    (lambda: build(3, 0, kinds="bm"), set()),
])
def test_larger_configurations_hold(make, byzantine) -> None:  # type: ignore[no-untyped-def]
    result = check(ActorModel(make(), CheckConfig(network="duplicating", byzantine=frozenset(byzantine),
                                                  intruder=True)), PROPERTIES)
    assert result.stats.complete
    assert not [r for r in result.results if r.status == "violated"]


def test_z3_model_proves_every_claim() -> None:
    results = z3_model.run()
    assert results and all(r.ok for r in results), [r for r in results if not r.ok]


# ------------------------------------------------------------------ live runs
def _inputs(n: int, x: int) -> dict[str, str]:
    return {a: ("x" if i < x else "y") for i, a in enumerate(Membership.of_size(n).agents)}


def test_simulated_sessions_are_deterministic_and_report_each_phase() -> None:
    runs = [run_adaptive_coordination(_inputs(10, 6), deadline=3.0, seed=3,
                                      crashes={"a8": 0.5, "a9": 1.5}) for _ in range(2)]
    assert runs[0].to_json() == runs[1].to_json()
    result = runs[0]
    assert result.status == "decided" and result.value == "x"
    assert result.decided_stage and result.decided_stage > 0  # split inputs: the first stage cannot decide
    assert result.phases[0].causes and all(s["cause"] for s in result.switches)
    assert all(v["status"] != "violated" for v in result.properties.values())
    assert "stage 0 byzantine" in report(result)
    json.dumps(result.to_json())


def test_a_unanimous_session_decides_in_the_byzantine_stage() -> None:
    result = run_adaptive_coordination(_inputs(7, 7), deadline=2.0, seed=1)
    assert (result.status, result.protocol, result.guarantee) == ("decided", "byzantine", "byzantine-count")
    assert not result.switches


def test_equivocation_blocks_majority_unless_allowed() -> None:
    options = dict(chain=("byzantine", "majority"), deadline=2.0, byzantine={"a9": "equivocate"},
                   equivocation=("y", "x"), exposed=("a0",), seed=2)
    blocked = run_adaptive_coordination(_inputs(10, 6), **options)
    assert blocked.status == "no-decision" and blocked.refusals
    allowed = run_adaptive_coordination(_inputs(10, 6), allow_weaker_after_evidence=True, **options)
    assert allowed.status == "decided" and allowed.guarantee == "crash-only"


def test_a_live_runtime_session_ends_by_its_deadline() -> None:
    result = run_adaptive_coordination(_inputs(7, 4), deadline=0.6, driver="runtime", seed=5)
    assert result.status in ("decided", "no-decision") and result.run.driver == "runtime"
    assert sum(result.outcomes.values()) == 7 and result.outcomes["none"] == 0


@pytest.mark.parametrize("kwargs", [{"driver": "cloud"}, {"chain": "byzantine"}, {"chain": ("paxos",)},
                                    {"byzantine": {"a0": "loud"}}, {"authentication": "none"}])
def test_api_errors_are_typed(kwargs: dict) -> None:
    with pytest.raises(ConfigurationError):
        run_adaptive_coordination(_inputs(4, 4), **kwargs)


def test_the_async_runner_works_inside_an_event_loop() -> None:
    import asyncio

    from mabeam.api.adaptive import run_adaptive_coordination_async

    async def inside() -> object:
        with pytest.raises(ConfigurationError):
            run_adaptive_coordination(_inputs(4, 4), driver="runtime")
        return await run_adaptive_coordination_async(_inputs(4, 4), deadline=0.5, seed=1)

    result = asyncio.run(inside())
    assert result.status == "decided" and result.protocol == "byzantine"  # type: ignore[attr-defined]


# ------------------------------------------------------------------ state-space reduction declarations
@pytest.mark.parametrize("mutant", [m.name for m in ENTRY.mutants])
def test_reduction_declarations_hold_on_every_mutant_world(mutant: str) -> None:
    """``reads`` and ``sends_no_more`` (a concluded node is silent) audited on every reachable world of
    each mutant's check (``tests/reduction_audit.py``); no symmetry is declared."""
    worlds, silent, generators = audit(build_model(ENTRY, mutant=mutant), ENTRY.properties)
    assert worlds > 0 and generators == 0
    assert silent > 0 or mutant == "no-deadline"  # a session without a deadline never concludes


@pytest.mark.slow
def test_reduction_declarations_hold_on_the_standard_check() -> None:
    worlds, silent, generators = audit(build_model(ENTRY), ENTRY.properties)
    assert worlds == 50_192 and silent > 0 and generators == 0


class _DeclaresEqualMembersInterchangeable(AdaptiveCoordination):
    """What a symmetry declaration would be: members with equal inputs and stage weights."""

    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        return classes_by(self.agents, lambda a: (self.inputs[a],
                                                  tuple(s.weights[self.membership.index(a)] for s in self.stages)))


def test_renaming_members_does_not_commute_with_the_machine() -> None:
    """Why no symmetry is declared: a lock's proof is a tuple sorted by sender, so renaming a0 and a1
    leaves it out of order while the permuted run locks on the sorted one (see ``symmetry()``)."""
    model = ActorModel(adaptive_config.checked(3, 0, _DeclaresEqualMembersInterchangeable),
                       CheckConfig(network="duplicating", intruder=True))
    with pytest.raises(AssertionError, match="does not commute"):
        audit_symmetry(model, PROPERTIES, reachable(model))


def test_renamed_messages_are_signed_by_their_new_sender() -> None:
    """``rename_signature``: a valid signature is made afresh for the renamed sender, an invalid one stays invalid."""
    p = build(3, 0)
    vote = signed(p, Vote(session="s0", sender="a0", stage=0, value="x"))
    renamed = vote.replace(sender="a1")  # type: ignore[attr-defined]
    assert not p.auth.verify(renamed) and p.auth.verify(p.rename_signature(vote, renamed))  # type: ignore[arg-type]
    forged = Vote(session="s0", sender="a0", stage=0, value="x", signature=b"\x00" * 16)
    assert not p.auth.verify(p.rename_signature(forged, forged.replace(sender="a1")))
    outsider = SymbolicAuthenticator(["a0", "a1", "a2"], seed="elsewhere")  # a key this session does not hold
    foreign = outsider.signer("a0").sign(Vote(session="s0", sender="a0", stage=0, value="x"))
    assert not p.auth.verify(p.rename_signature(foreign, foreign.replace(sender="a1")))


# ------------------------------------------------------------------ fairness: only the deadline is obliged
class LazyDeadline(AdaptiveCoordination):
    """Arms the session deadline only when its first stage times out (keeping that stage's timer armed
    after it leaves the stage): its conclusion rests on a stage timer, which nothing obliges."""

    def on_start(self, agent: AgentId) -> Step:
        step = super().on_start(agent)
        return Step(step.state, tuple(e for e in step.effects if getattr(e, "name", None) != DEADLINE_TIMER))

    def on_timer(self, agent: AgentId, state: AdaptiveState, timer: str) -> Step:
        step = super().on_timer(agent, state, timer)
        if timer == stage_timer(0) and step.state.outcome is None:
            return Step(step.state, (*step.effects, SetTimer(DEADLINE_TIMER, self.deadline)))
        return step

    def _maybe_leave(self, agent: AgentId, state: AdaptiveState) -> tuple[AdaptiveState, tuple]:
        state, effects = super()._maybe_leave(agent, state)
        return state, tuple(e for e in effects if not (isinstance(e, CancelTimer) and e.name == stage_timer(0)))


class LazyDeadlineEveryTimerFair(LazyDeadline):
    """The same machine checked under the default fairness: every timer of a correct node is weakly fair."""

    def fairness_class(self, kind: str, agent: AgentId, detail: Any) -> None:
        return None


def _conclusion(cls: type[AdaptiveCoordination]) -> str:
    """ADAPT-L1 on two members with split inputs, Byzantine -> majority: neither stage can decide, so only
    a deadline concludes."""
    model = ActorModel(build(2, 0, cls, kinds="bm", adversary="override"),
                       CheckConfig(network="duplicating", intruder=True))
    result = check(model, PROPERTIES)
    assert result.stats.complete
    return result.result_for("ADAPT-L1").status


def test_stage_timers_are_declared_unfair_and_the_deadline_fair() -> None:
    p = build(3, 0)
    assert p.fairness_class("timer", "a0", stage_timer(0)) == "unfair"
    assert p.fairness_class("timer", "a0", DEADLINE_TIMER) is None
    assert p.fairness_class("deliver", "a0", None) is None


def test_a_lazy_deadline_passes_when_every_timer_is_fair() -> None:
    """Under the default fairness the lazy deadline is forced by the stage timer: L1 holds."""
    assert _conclusion(LazyDeadlineEveryTimerFair) == "holds"


def test_a_lazy_deadline_fails_conclusion_under_the_declared_fairness() -> None:
    """Under the spec's fairness (stage timers unfair) a run that never times out a stage never arms the
    deadline, and the two members wait forever: ADAPT-L1 must be violated."""
    assert _conclusion(LazyDeadline) == "violated"
