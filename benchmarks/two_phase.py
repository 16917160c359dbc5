"""Lamport's Two-Phase Commit (``TwoPhase.tla``) as a mabeam protocol: the checker's benchmark model.

The reference is ``tlaplus/Examples specifications/transaction_commit/TwoPhase.tla``.
The agents are the transaction manager ``tm`` and resource managers ``rm0 ..``.
The mapping to the TLA+ variables is one to one, so the checker must find
exactly TLC's distinct-state counts (N=3: 288, N=5: 8,832, N=6: 50,816):

* ``rmState`` / ``tmState`` / ``tmPrepared`` are the node states below;
* ``msgs`` is the checker's *duplicating* network: a sent message stays
  available forever and may be received any number of times, or never;
* the spontaneous actions (``RMPrepare``, ``RMChooseToAbort``, ``TMAbort``)
  and ``TMCommit`` (enabled, not forced, once every RM has prepared) are timers,
  armed exactly while the action is enabled and cancelled when it is not, so
  the armed timers are a function of node state and add no states;
* ``Decide`` is emitted exactly when a node enters ``committed`` or
  ``aborted``, so decisions are a function of node state too.

Only ``mabeam.core`` is imported: the checker runs this model unchanged.
"""

from __future__ import annotations

from typing import cast

import msgspec

from mabeam.core import (
    AgentId,
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Decide,
    Envelope,
    Membership,
    Message,
    PhaseGraph,
    PhaseTransition,
    Protocol,
    Reject,
    Send,
    SetTimer,
    Snapshot,
    Step,
    always,
    sometimes,
)

TM: AgentId = "tm"

RM_PHASES = PhaseGraph(
    "two-phase.rm", ["working", "prepared", "committed", "aborted"], "working",
    [
        PhaseTransition("prepare", "working", "prepared", "RMPrepare"),
        PhaseTransition("choose-to-abort", "working", "aborted", "RMChooseToAbort"),
        # TwoPhase.tla does not guard receipt on rmState: only the verdict's existence enables it
        *(PhaseTransition("commit", source, "committed", "RMRcvCommitMsg")
          for source in ("working", "prepared", "aborted")),
        *(PhaseTransition("abort", source, "aborted", "RMRcvAbortMsg")
          for source in ("working", "prepared", "committed")),
    ],
)
TM_PHASES = PhaseGraph(
    "two-phase.tm", ["init", "committed", "aborted"], "init",
    [
        PhaseTransition("commit", "init", "committed", "TMCommit: Prepared from every RM"),
        PhaseTransition("abort", "init", "aborted", "TMAbort"),
    ],
)

# timer names: each stands for one spontaneous TLA+ action
PREPARE, CHOOSE_TO_ABORT = "prepare", "choose-to-abort"
TM_COMMIT, TM_ABORT = "commit", "abort"


class Prepared(Message, frozen=True, tag="two-phase.prepared"):
    """``[type |-> "Prepared", rm |-> sender]``, sent by an RM to the TM."""


class Commit(Message, frozen=True, tag="two-phase.commit"):
    """``[type |-> "Commit"]``, broadcast by the TM."""


class Abort(Message, frozen=True, tag="two-phase.abort"):
    """``[type |-> "Abort"]``, broadcast by the TM."""


class RMState(msgspec.Struct, frozen=True):
    phase: str


class TMState(msgspec.Struct, frozen=True):
    phase: str
    prepared: frozenset[AgentId]  # tmPrepared


WORKING = RMState("working")  # shared: states are values


class TwoPhaseCommit(Protocol):
    """One transaction: the TM ``tm`` and ``rms`` resource managers."""

    name = "two-phase"
    message_types = (Prepared, Commit, Abort)

    def __init__(self, rms: int, session: str = "s0") -> None:
        if not isinstance(rms, int) or isinstance(rms, bool) or rms < 1:
            raise ConfigurationError(f"two-phase commit needs at least one RM, got rms={rms!r}")
        super().__init__(Membership([TM, *(f"rm{i}" for i in range(rms))]), session)
        self.rms = frozenset(self.agents[1:])
        self.rm_order = self.agents[1:]
        self._prepared = {rm: Prepared(session=session, sender=rm) for rm in self.rms}
        self._commit = Commit(session=session, sender=TM)
        self._abort = Abort(session=session, sender=TM)
        #: TLA+'s ``Message`` as envelopes: Prepared(rm) to the TM, the TM's verdicts to every RM
        self.message_set = frozenset(
            [Envelope(TM, prepared) for prepared in self._prepared.values()]
            + [Envelope(rm, verdict) for rm in self.rms for verdict in (self._commit, self._abort)])

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        if agent == TM:
            return Step(TMState("init", frozenset()), (SetTimer(TM_ABORT, 1.0),))
        return Step(WORKING, (SetTimer(PREPARE, 1.0), SetTimer(CHOOSE_TO_ABORT, 1.0)))

    def on_message(self, agent: AgentId, state: RMState | TMState, message: Message) -> Step:
        kind = type(message)
        if agent == TM:
            if kind is not Prepared:
                return Step(state, (Reject("tm-accepts-only-prepared", message),))
            return self.tm_receive_prepared(state, message.sender)
        if message.sender != TM or kind is Prepared:
            return Step(state, (Reject("rm-accepts-only-tm-verdicts", message),))
        verdict = "committed" if kind is Commit else "aborted"
        if state.phase == verdict:
            return Step(state)  # receiving a verdict twice changes nothing
        trigger = "commit" if kind is Commit else "abort"
        phase = RM_PHASES.check(state.phase, trigger, verdict)
        cancel = (CancelTimer(PREPARE), CancelTimer(CHOOSE_TO_ABORT)) if state.phase == "working" else ()
        return Step(RMState(phase), cancel + (Decide(trigger),))

    def on_timer(self, agent: AgentId, state: RMState | TMState, timer: str) -> Step:
        if agent == TM:
            if timer == TM_ABORT:
                return self.tm_decide(state, "abort", self._abort, cancel=TM_COMMIT)
            return self.tm_decide(state, "commit", self._commit, cancel=TM_ABORT)
        if timer == PREPARE:
            phase = RM_PHASES.check(state.phase, "prepare", "prepared")
            return Step(RMState(phase), (CancelTimer(CHOOSE_TO_ABORT), Send(TM, self._prepared[agent])))
        phase = RM_PHASES.check(state.phase, "choose-to-abort", "aborted")
        return Step(RMState(phase), (CancelTimer(PREPARE), Decide("abort")))

    # ----------------------------------------------------- TM rules (mutants override)
    def tm_receive_prepared(self, state: TMState, rm: AgentId) -> Step:
        """TMRcvPrepared: record ``rm``; once all have prepared, TMCommit becomes enabled."""
        if state.phase != "init" or rm in state.prepared:
            return Step(state)
        prepared = state.prepared | {rm}
        arm = (SetTimer(TM_COMMIT, 1.0),) if self.may_commit(prepared) else ()
        return Step(TMState("init", prepared), arm)

    def may_commit(self, prepared: frozenset[AgentId]) -> bool:
        return prepared == self.rms

    def tm_decide(self, state: TMState, trigger: str, verdict: Message, cancel: str) -> Step:
        phase = TM_PHASES.check(state.phase, trigger, "committed" if trigger == "commit" else "aborted")
        return Step(TMState(phase, state.prepared),
                    (CancelTimer(cancel), Broadcast(verdict), Decide(trigger)))

    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """The resource managers are interchangeable (equal roles, no inputs)."""
        return (self.rms,)

    def sends_no_more(self, state: RMState | TMState) -> bool:
        """An RM once it left ``working`` (it sends only Prepared, on the prepare timer, which leaving
        ``working`` disarms); the TM once it left ``init`` (it broadcasts its verdict once, and a
        late Prepared changes nothing)."""
        if isinstance(state, TMState):
            return state.phase != "init"
        return state.phase != "working"

    def describe_state(self, state: RMState | TMState) -> str:
        if isinstance(state, TMState):
            return f"{state.phase} prepared={sorted(state.prepared)}"
        return state.phase


# ------------------------------------------------------------------- properties
def _rm_phases(snap: Snapshot) -> set[str]:
    states = snap.states
    return {states[rm].phase for rm in cast(TwoPhaseCommit, snap.protocol).rm_order}


#: every value the RM and TM states may take (TypeOK's rmState and tmState)
RM_TYPE = frozenset(RMState(phase) for phase in RM_PHASES.phases)
TM_PHASE_TYPE = frozenset(TM_PHASES.phases)


@always("TP-S1", "TCConsistent", reads=("states",))
def tc_consistent(snap: Snapshot) -> bool:
    """No RM has committed while another has aborted."""
    phases = _rm_phases(snap)
    return not ("committed" in phases and "aborted" in phases)


@always("TP-S2", "TPTypeOK", reads=("states", "in_flight"))
def type_ok(snap: Snapshot) -> bool:
    """Every variable stays in its TLA+ type; in particular ``msgs \\subseteq Message``."""
    protocol = cast(TwoPhaseCommit, snap.protocol)
    states = snap.states
    tm = states[TM]
    if type(tm) is not TMState or tm.phase not in TM_PHASE_TYPE or not tm.prepared <= protocol.rms:
        return False
    return RM_TYPE.issuperset([states[rm] for rm in protocol.rm_order]) and \
        protocol.message_set.issuperset(snap.in_flight)


@sometimes("TP-R1", "All RMs commit", reads=("states",))
def all_commit(snap: Snapshot) -> bool:
    """Non-vacuity: the transaction can commit everywhere."""
    return _rm_phases(snap) == {"committed"}


PROPERTIES = (tc_consistent, type_ok, all_commit)


# ---------------------------------------------------------------------- mutants
class CommitWithoutAllPrepared(TwoPhaseCommit):
    """The TM may commit once all but one RM have prepared (breaks TP-S1)."""

    def may_commit(self, prepared: frozenset[AgentId]) -> bool:
        return len(prepared) >= len(self.rms) - 1


class PreparedToEveryone(TwoPhaseCommit):
    """An RM broadcasts its Prepared message to every member instead of the TM (breaks TP-S2)."""

    def on_timer(self, agent: AgentId, state: RMState | TMState, timer: str) -> Step:
        step = super().on_timer(agent, state, timer)
        if agent == TM:
            return step
        return Step(step.state, tuple(Broadcast(e.message) if type(e) is Send else e for e in step.effects))


MUTANTS: dict[str, tuple[type[TwoPhaseCommit], tuple[str, ...]]] = {
    "commit-without-all-prepared": (CommitWithoutAllPrepared, ("TP-S1",)),
    "prepared-to-everyone": (PreparedToEveryone, ("TP-S2",)),
}


def build(rms: int, cls: type[TwoPhaseCommit] = TwoPhaseCommit) -> TwoPhaseCommit:
    return cls(rms)


#: TLC's distinct-state counts for TwoPhase.tla by number of RMs, re-exported for the tests
from benchmarks.direct_two_phase import TLC_DISTINCT_STATES  # noqa: E402, F401
