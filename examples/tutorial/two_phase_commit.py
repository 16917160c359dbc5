"""Two-phase commit, written against mabeam's core: the worked example of docs/tutorial.md.

One coordinator and N participants decide together whether a transaction
commits. Each participant *chooses* to vote yes (it prepared) or no (it
cannot); the coordinator commits only when every participant voted yes and
aborts on the first no, or when it gives up waiting (a timer). Everyone
learns the outcome from the coordinator.

It uses the two pieces of the core that protocols beyond the shipped seven
need: roles in a membership (``coordinator``, ``participant``; quorums and
sends by role) and a node's own nondeterministic choice (``choose``: the model
checker explores both votes, live runs take the participant's preference).

    mabeam check examples.tutorial.two_phase_commit:ENTRY              # every property holds
    mabeam check examples.tutorial.two_phase_commit:ENTRY --faulty 1   # the classic blocking case
    mabeam mutants examples.tutorial.two_phase_commit:ENTRY --check    # each mutant caught
    mabeam simulate examples.tutorial.two_phase_commit:ENTRY --agents 5
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import msgspec

from mabeam import (
    AgentId,
    CancelTimer,
    ConfigurationError,
    Decide,
    Membership,
    Message,
    Protocol,
    ProtocolEntry,
    SetTimer,
    Snapshot,
    Step,
    always,
    choose,
    eventually,
    mutant,
    sometimes,
    withdraw,
)
from mabeam.core.properties import agreement_holds, integrity_holds

COORDINATOR, PARTICIPANT = "coordinator", "participant"
YES, NO = "yes", "no"
COMMIT, ABORT = "commit", "abort"
GIVE_UP = "give-up"  # the coordinator's timeout


# ------------------------------------------------------------------ messages
class Vote(Message, frozen=True, tag="2pc.vote"):
    """A participant's vote, to the coordinator."""

    vote: str


class Outcome(Message, frozen=True, tag="2pc.outcome"):
    """The coordinator's verdict, to every participant."""

    outcome: str


# ------------------------------------------------------------------ node states
class ParticipantState(msgspec.Struct, frozen=True):
    phase: str  # working | prepared | committed | aborted
    vote: str | None = None


class CoordinatorState(msgspec.Struct, frozen=True):
    phase: str  # collecting | committed | aborted
    yes: frozenset[AgentId] = frozenset()


# ------------------------------------------------------------------ properties
def _protocol(snap: Snapshot) -> TwoPhaseCommit:
    return cast("TwoPhaseCommit", snap.protocol)


@always("2PC-S1", "Consistency", reads=("decisions",))
def consistency(snap: Snapshot) -> bool:
    """No agent commits while another aborts."""
    return agreement_holds(snap)


@always("2PC-S2", "Commit needs every yes", reads=("decisions", "states"))
def commit_validity(snap: Snapshot) -> bool:
    """A commit decision exists only if every participant voted yes."""
    if not any(d.value == COMMIT for d in snap.decisions):
        return True
    return all(getattr(snap.states[p], "vote", None) == YES for p in _protocol(snap).participants)


@always("2PC-S3", "Integrity", reads=("decisions",))
def integrity(snap: Snapshot) -> bool:
    """Each agent decides at most once."""
    return integrity_holds(snap)


@sometimes("2PC-R1", "The transaction can commit", reads=("decisions",))
def can_commit(snap: Snapshot) -> bool:
    return any(d.value == COMMIT for d in snap.decisions)


@sometimes("2PC-R2", "The transaction can abort", reads=("decisions",))
def can_abort(snap: Snapshot) -> bool:
    return any(d.value == ABORT for d in snap.decisions)


@eventually("2PC-L1", "Termination", reads=("decisions", "crashed"))
def termination(snap: Snapshot) -> bool:
    """Every correct agent eventually decides (two-phase commit blocks if the coordinator crashes)."""
    decided = {d.agent for d in snap.decisions}
    return all(a in decided for a in snap.correct)


PROPERTIES = (consistency, commit_validity, integrity, can_commit, can_abort, termination)


# ------------------------------------------------------------------ the machine
class TwoPhaseCommit(Protocol):
    """One transaction among ``membership`` (roles ``coordinator`` and ``participant``).

    ``preferences`` maps a participant to the vote it casts in live runs (default
    yes); the model checker explores both votes of every participant regardless.
    """

    name = "two-phase-commit"
    message_types = (Vote, Outcome)
    properties = PROPERTIES

    def __init__(self, membership: Membership, preferences: Mapping[AgentId, str] | None = None,
                 timeout: float = 1.0, session: str = "s0") -> None:
        super().__init__(membership, session)
        if len(self.members(COORDINATOR)) != 1:
            raise ConfigurationError("two-phase commit needs exactly one coordinator")
        self.coordinator = self.members(COORDINATOR)[0]
        self.participants = self.members(PARTICIPANT)
        self.preferences = {p: (preferences or {}).get(p, YES) for p in self.participants}
        self.timeout = timeout

    def on_start(self, agent: AgentId) -> Step:
        if agent == self.coordinator:
            return Step(CoordinatorState("collecting"), (SetTimer(GIVE_UP, self.timeout),))
        return Step(ParticipantState("working"), choose("vote", (YES, NO), prefer=self.preferences[agent]))

    def on_choice(self, agent: AgentId, state: Any, label: str, option: str) -> Step:
        """A participant votes: yes means it prepared (and waits); no means it aborts at once."""
        if state.phase != "working":
            return Step(state)
        vote = Vote(session=self.session, sender=agent, vote=option)
        if option == YES:
            return Step(ParticipantState("prepared", YES), (*self.send_to_role(COORDINATOR, vote),))
        return Step(ParticipantState("aborted", NO), (*self.send_to_role(COORDINATOR, vote), Decide(ABORT)))

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        if agent == self.coordinator and isinstance(message, Vote) and message.sender in self.participants:
            return self.count_vote(state, message)
        if isinstance(message, Outcome) and message.sender == self.coordinator and agent in self.participants:
            return self.learn(state, message.outcome)
        return Step(state)  # nothing else is meaningful here

    def on_timer(self, agent: AgentId, state: CoordinatorState, timer: str) -> Step:
        return self.conclude(state, ABORT) if state.phase == "collecting" else Step(state)

    # ------------------------------------------------ coordinator rules (mutants override)
    def count_vote(self, state: CoordinatorState, vote: Vote) -> Step:
        if state.phase != "collecting":
            return Step(state)
        if vote.vote == NO:
            return self.conclude(state, ABORT)
        yes = state.yes | {vote.sender}
        if self.ready_to_commit(yes):
            return self.conclude(CoordinatorState("collecting", yes), COMMIT)
        return Step(CoordinatorState("collecting", yes))

    def ready_to_commit(self, yes: frozenset[AgentId]) -> bool:
        """Every participant voted yes."""
        return self.membership.is_quorum(yes, len(self.participants), role=PARTICIPANT)

    def conclude(self, state: CoordinatorState, outcome: str) -> Step:
        verdict = Outcome(session=self.session, sender=self.coordinator, outcome=outcome)
        phase = "committed" if outcome == COMMIT else "aborted"
        return Step(CoordinatorState(phase, state.yes),
                    (CancelTimer(GIVE_UP), *self.send_to_role(PARTICIPANT, verdict), Decide(outcome)))

    # ------------------------------------------------ participant rules
    def learn(self, state: ParticipantState, outcome: str) -> Step:
        if state.phase in ("committed", "aborted"):
            return Step(state)  # a participant that voted no already aborted
        # the coordinator gave up before this participant voted: its vote is moot
        moot = withdraw("vote", (YES, NO)) if state.phase == "working" else ()
        after = ParticipantState("committed" if outcome == COMMIT else "aborted", state.vote)
        return Step(after, (*moot, Decide(outcome)))

    def describe_state(self, state: Any) -> str:
        if isinstance(state, CoordinatorState):
            return f"{state.phase} yes={sorted(state.yes)}"
        return state.phase + (f" (voted {state.vote})" if state.vote else "")


# ------------------------------------------------------------------ mutants
class CommitOnMajority(TwoPhaseCommit):
    """Commits once a majority of participants voted yes: a no vote in the minority is overruled."""

    def ready_to_commit(self, yes: frozenset[AgentId]) -> bool:
        return self.membership.is_majority(yes, role=PARTICIPANT)


class WaitForever(TwoPhaseCommit):
    """Ignores no votes and never gives up: prepared participants wait forever after a no."""

    def on_start(self, agent: AgentId) -> Step:
        step = super().on_start(agent)
        return Step(step.state) if agent == self.coordinator else step

    def count_vote(self, state: CoordinatorState, vote: Vote) -> Step:
        return Step(state) if vote.vote == NO else super().count_vote(state, vote)


# ------------------------------------------------------------------ the catalog entry
def build(agents: int, faulty: int = 0, cls: type[TwoPhaseCommit] = TwoPhaseCommit) -> TwoPhaseCommit:
    """``agents`` = one coordinator and ``agents - 1`` participants; ``faulty`` crashes are the checker's."""
    if agents < 2:
        raise ConfigurationError(f"two-phase commit needs a coordinator and a participant, got {agents} agents")
    if faulty < 0 or faulty >= agents:
        raise ConfigurationError(f"faulty must be in [0, {agents}), got {faulty}")
    return cls(Membership.with_roles(coordinator=1, participant=agents - 1))


MUTANTS = (
    mutant(CommitOnMajority, "commit-on-majority", "commits on a majority of yes votes instead of all",
           ("2PC-S1", "2PC-S2"), build=build),
    mutant(WaitForever, "wait-forever", "ignores no votes and has no timeout", ("2PC-L1",), build=build),
)

ENTRY = ProtocolEntry(
    name="two-phase-commit",
    summary="two-phase commit: one coordinator, participants that choose their vote (tutorial)",
    fault_model="crash",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=4,
    default_faulty=0,
    check_defaults={"network": "multiset"},
    spec_path="docs/tutorial.md",
)
