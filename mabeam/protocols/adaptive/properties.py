"""The properties of adaptive coordination (IDs as in ``spec/adaptive.md``).

Predicates recompute quorum sizes, guarantees and signatures from the
configuration instead of trusting the node's own bookkeeping, so a node that
records a wrong provenance or an undersized certificate is caught. None reads
``in_flight``, so all run in the live monitor too.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from ...core import Snapshot, always, eventually, sometimes
from ...core.memo import ProtocolMemo
from .config import GUARANTEES, RANK, Stage, switch_quorum
from .messages import Commit, Vote
from .state import DECIDED, NO_DECISION, AdaptiveState

if TYPE_CHECKING:
    from .machine import AdaptiveCoordination


def _protocol(snap: Snapshot) -> AdaptiveCoordination:
    return cast("AdaptiveCoordination", snap.protocol)


def _honest(snap: Snapshot) -> list[tuple[str, AdaptiveState]]:
    return [(a, s) for a, s in snap.states.items() if a not in snap.byzantine and s is not None]


def assumption_holds(protocol: AdaptiveCoordination, stage: Stage, byzantine: frozenset[str]) -> bool:
    """Whether the run's Byzantine members stay within ``stage``'s fault assumption."""
    if not stage.byzantine_tolerant:
        return not byzantine
    index = protocol.membership.index
    return sum(stage.weights[index(a)] for a in byzantine) <= stage.fault_budget


def _backed(protocol: AdaptiveCoordination, stage: int, value: str, proof: tuple) -> bool:
    """A quorum (recomputed from the configured weights) of distinct members' valid signed commits."""
    weights = protocol.stages[stage].weights
    index = protocol.membership.index
    senders = set()
    kind = Vote if stage == len(protocol.stages) - 1 else Commit
    for commit in proof:
        if not (type(commit) is kind and commit.stage == stage and commit.value == value
                and commit.session == protocol.session and commit.sender in protocol.membership
                and protocol.auth.verify(commit)):
            return False
        senders.add(commit.sender)
    return sum(weights[index(a)] for a in senders) >= protocol.stages[stage].quorum


@always("ADAPT-S1", "One decision, one protocol", reads=("states", "decisions"))
def one_decision(snap: Snapshot) -> bool:
    """Each honest node decides at most one value, once, under one stage: its Decide matches its
    recorded outcome, and a node that concluded with an explicit no-decision decided nothing."""
    decided: dict[str, set] = {}
    for d in snap.honest_decisions():
        decided.setdefault(d.agent, set()).add((d.instance, d.value))
    for agent, values in decided.items():
        if len(values) > 1:
            return False
        state = snap.states.get(agent)
        if state is None or state.outcome is None or state.outcome.kind != DECIDED:
            return False
        if {v for _, v in values} != {state.outcome.value}:
            return False
    for agent, state in _honest(snap):
        if state.outcome is not None and state.outcome.kind == NO_DECISION and agent in decided:
            return False
    return True


@always("ADAPT-S2", "Never overridden", reads=("states",))
def never_overridden(snap: Snapshot) -> bool:
    """Two honest decisions agree whenever every stage up to the later one kept its fault
    assumption: a value decided under Byzantine consensus is never replaced by a fallback."""
    protocol = _protocol(snap)
    byzantine = frozenset(snap.byzantine)
    holds = [assumption_holds(protocol, s, byzantine) for s in protocol.stages]
    outcomes = [s.outcome for _, s in _honest(snap)
                if s.outcome is not None and s.outcome.kind == DECIDED]
    for i, a in enumerate(outcomes):
        for b in outcomes[i + 1:]:
            if a.value != b.value and all(holds[:max(a.stage, b.stage) + 1]):
                return False
    return True


def _per_node(check: Callable[[AdaptiveCoordination, AdaptiveState], bool]
              ) -> Callable[[Snapshot], bool]:
    """A property that holds when ``check`` holds at every honest node; node states are immutable
    values shared by many global states, so each verdict is memoised per (protocol, state)."""
    memo = ProtocolMemo(1 << 18)

    def predicate(snap: Snapshot) -> bool:
        protocol = _protocol(snap)
        return all(memo.get(protocol, state, partial(check, protocol, state)) for _, state in _honest(snap))

    predicate.__doc__ = check.__doc__
    return predicate


def _refused_fallback(protocol: AdaptiveCoordination, state: AdaptiveState) -> bool:
    """No honest node entered (or decided in) a stage whose precondition fails: majority needs the
    configured crash bound below n/2, and a node holding equivocation evidence never falls back
    to a crash-only stage unless the caller allowed it."""
    n = protocol.n
    for record in state.log:
        stage = protocol.stages[record.target]
        if not stage.precondition_holds(n):
            return False
        if not stage.byzantine_tolerant and record.evidence and not protocol.allow_weaker_after_evidence:
            return False
    return protocol.stages[state.stage].precondition_holds(n)


refused_fallback = always("ADAPT-S3", "Refused fallback", reads=("states",))(_per_node(_refused_fallback))


def _decision_provenance(protocol: AdaptiveCoordination, state: AdaptiveState) -> bool:
    """Every honest decision records the stage protocol that produced it, the weakest guarantee
    among the stages used up to it, and a quorum of valid signed commits for its value there
    (votes in the lock-free last stage)."""
    outcome = state.outcome
    if outcome is None or outcome.kind != DECIDED:
        return True
    if not 0 <= outcome.stage <= protocol.last or outcome.value is None:
        return False
    used = protocol.stages[:outcome.stage + 1]
    if outcome.protocol != protocol.stages[outcome.stage].kind:
        return False
    if outcome.guarantee != GUARANTEES[max((s.kind for s in used), key=RANK.__getitem__)]:
        return False
    return _backed(protocol, outcome.stage, outcome.value, outcome.proof)


decision_provenance = always("ADAPT-S4", "Decision provenance", reads=("states",))(_per_node(_decision_provenance))


def _certified_switches(protocol: AdaptiveCoordination, state: AdaptiveState) -> bool:
    """An honest node in stage s logged exactly the switches 0->1, ..., s-1->s, each with a cause and
    a certificate of distinct members holding the switch quorum of the stage it left."""
    stages = protocol.stages
    if len(state.log) != state.stage:
        return False
    for i, record in enumerate(state.log):
        if (record.source, record.target) != (i, i + 1) or not record.cause:
            return False
        members = set(record.certificate)
        if len(members) != len(record.certificate) or not members <= set(protocol.agents):
            return False
        weights = stages[i].weights
        units = sum(weights[protocol.membership.index(a)] for a in members)
        if units < switch_quorum(stages[i], stages[i + 1]):
            return False
    return True


certified_switches = always("ADAPT-S5", "Certified and logged switches",
                            reads=("states",))(_per_node(_certified_switches))


@sometimes("ADAPT-R1", "A decision in the first stage", reads=("states",))
def first_stage_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the strongest protocol can decide."""
    return any(s.outcome is not None and s.outcome.kind == DECIDED and s.outcome.stage == 0
               for _, s in _honest(snap))


@sometimes("ADAPT-R2", "A decision after a fallback",
           applies_to=lambda p: len(getattr(p, "stages", ())) > 1, reads=("states",))
def fallback_decides(snap: Snapshot) -> bool:
    """Non-vacuity: a fallback happens and a later stage decides."""
    return any(s.outcome is not None and s.outcome.kind == DECIDED and s.outcome.stage > 0
               for _, s in _honest(snap))


@sometimes("ADAPT-R3", "An explicit no-decision", reads=("states",))
def explicit_no_decision(snap: Snapshot) -> bool:
    """Non-vacuity: the deadline can end the session without a decision."""
    return any(s.outcome is not None and s.outcome.kind == NO_DECISION for _, s in _honest(snap))


@eventually("ADAPT-L1", "Conclusion by the deadline", reads=("states", "crashed"))
def concludes(snap: Snapshot) -> bool:
    """Every correct honest node ends with a decision or an explicit no-decision (timers fire)."""
    return all(snap.states.get(a) is not None and snap.states[a].outcome is not None for a in snap.correct)


PROPERTIES = (one_decision, never_overridden, refused_fallback, decision_provenance, certified_switches,
              first_stage_decides, fallback_decides, explicit_no_decision, concludes)
