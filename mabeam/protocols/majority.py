"""Simple majority voting, crash-fault tolerant (spec: ``spec/majority.md``).

Every agent broadcasts its input once. An agent decides value ``v`` as soon as
it has counted votes for ``v`` from a strict majority of the group (> n/2
distinct members, its own included). Two strict majorities always share a
member and a correct member votes once, so no two agents decide differently.
With up to ``f < n/2`` crashes, every correct agent decides whenever the
correct agents alone hold a majority for one value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from ..core import (
    AgentId, Broadcast, ConfigurationError, Decide, Envelope, Evidence, Membership, Message,
    PhaseGraph, PhaseTransition, Protocol, Snapshot, Step, always, eventually, sometimes,
)
from ..core.catalog import Mutant, ProtocolEntry
from ..core.properties import agreement_holds, integrity_holds

PHASES = PhaseGraph(
    "majority", ["voting", "decided"], "voting",
    [PhaseTransition("quorum", "voting", "decided", "votes for v from > n/2 members")],
)


class Vote(Message, frozen=True, tag="majority.vote"):
    value: str


class MajorityState(msgspec.Struct, frozen=True):
    """One agent's view. ``votes[i]`` is the counted vote of member ``i`` (``None``: none yet);
    ``support`` keeps the count per value so a step costs O(1) in the group size."""

    phase: str
    votes: tuple[str | None, ...]
    support: tuple[tuple[str, int], ...]  # (value, counted votes), sorted by value
    decided: str | None = None

    def support_for(self, value: str) -> int:
        return next((count for v, count in self.support if v == value), 0)


def _add_support(support: tuple[tuple[str, int], ...], value: str) -> tuple[tuple[str, int], ...]:
    counts = dict(support)
    counts[value] = counts.get(value, 0) + 1
    return tuple(sorted(counts.items()))


class MajorityVoting(Protocol):
    """One simple-majority vote among ``membership`` with each agent's ``inputs``."""

    name = "majority"
    message_types = (Vote,)

    def __init__(self, membership: Membership | Iterable[AgentId], inputs: Mapping[AgentId, str],
                 session: str = "s0") -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        missing = [a for a in self.agents if a not in inputs]
        extra = [a for a in inputs if a not in self.membership]
        if missing or extra:
            raise ConfigurationError(f"inputs must name every member exactly: missing {missing}, "
                                     f"unknown {extra}")
        for agent, value in inputs.items():
            if not isinstance(value, str):
                raise ConfigurationError(f"input of {agent} must be a string, got {type(value).__name__}")
        self.inputs = dict(inputs)
        self.quorum = len(self.membership) // 2 + 1

    def crash_tolerance(self) -> int:
        """The most crashes under which a unanimous group still decides: f < n/2."""
        return (self.n - 1) // 2

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        value = self.inputs[agent]
        votes = tuple(value if member == agent else None for member in self.agents)
        state = MajorityState("voting", votes, ((value, 1),))
        state, decided = self._maybe_decide(agent, state, value)
        return Step(state, (Broadcast(Vote(session=self.session, sender=agent, value=value)),) + decided)

    def on_message(self, agent: AgentId, state: MajorityState, message: Message) -> Step:
        assert isinstance(message, Vote)
        if state.phase == "decided":
            return Step(state)
        previous = self._vote_of(state, message.sender)
        if previous is not None:
            if previous == message.value:
                return Step(state)  # a re-vote never counts twice
            return Step(state, (Evidence("equivocation", message.sender,
                                         (Vote(session=self.session, sender=message.sender, value=previous),
                                          message)),))
        state = self._count(state, message)
        state, decided = self._maybe_decide(agent, state, message.value)
        return Step(state, decided)

    # ----------------------------------------------------- rules (mutants override)
    def _vote_of(self, state: MajorityState, sender: AgentId) -> str | None:
        return state.votes[self.membership.index(sender)]

    def _count(self, state: MajorityState, vote: Vote) -> MajorityState:
        i = self.membership.index(vote.sender)
        return msgspec.structs.replace(state, votes=state.votes[:i] + (vote.value,) + state.votes[i + 1:],
                                       support=_add_support(state.support, vote.value))

    def _maybe_decide(self, agent: AgentId, state: MajorityState, value: str) -> tuple[MajorityState, tuple]:
        """Only the value just counted can have reached the quorum."""
        if state.support_for(value) >= self.quorum:
            phase = PHASES.check(state.phase, "quorum", "decided")
            return msgspec.structs.replace(state, phase=phase, decided=value), (Decide(value),)
        return state, ()

    # ------------------------------------------------------------ adversaries
    def forged_messages(self) -> Iterable[Envelope]:
        """An outsider 'intruder' votes for a value no member proposed."""
        return [Envelope(a, Vote(session=self.session, sender="intruder", value="forged"))
                for a in self.agents]

    def describe_state(self, state: MajorityState) -> str:
        votes = ", ".join(f"{a}:{v}" for a, v in zip(self.agents, state.votes) if v is not None)
        return f"{state.phase} [{votes}]" + (f" decided={state.decided!r}" if state.decided else "")


# ------------------------------------------------------------------- properties
@always("MAJ-S1", "Agreement")
def agreement(snap: Snapshot) -> bool:
    """No two agents decide different values."""
    return agreement_holds(snap)


@always("MAJ-S2", "Validity")
def validity(snap: Snapshot) -> bool:
    """A decided value is the input of more than n/2 members."""
    protocol = snap.protocol
    assert isinstance(protocol, MajorityVoting)
    holders: dict[str, int] = {}
    for value in protocol.inputs.values():
        holders[value] = holders.get(value, 0) + 1
    return all(2 * holders.get(d.value, 0) > protocol.n for d in snap.decisions)


@always("MAJ-S3", "Integrity")
def integrity(snap: Snapshot) -> bool:
    """An agent decides at most once and never changes its decision."""
    return integrity_holds(snap)


@always("MAJ-S4", "One vote per member")
def one_vote_per_member(snap: Snapshot) -> bool:
    """Every count is backed by distinct members' votes: at most one vote per member, no outsiders."""
    for state in snap.states.values():
        if state is None:
            continue
        recorded: dict[str, int] = {}
        for value in state.votes:
            if value is not None:
                recorded[value] = recorded.get(value, 0) + 1
        if dict(state.support) != recorded:
            return False
    return True


@always("MAJ-S5", "Decision backed by a majority")
def decision_backed(snap: Snapshot) -> bool:
    """An agent that decided v has counted votes for v from a strict majority of members."""
    protocol = snap.protocol
    for agent, state in snap.states.items():
        if state is None or state.decided is None:
            continue
        voters = sum(1 for v in state.votes if v == state.decided)
        if 2 * voters <= protocol.n:
            return False
    return True


@sometimes("MAJ-R1", "Some agent decides")
def someone_decides(snap: Snapshot) -> bool:
    """Non-vacuity: the checked configuration can reach a decision."""
    return bool(snap.decisions)


@eventually("MAJ-L1", "Termination")
def termination(snap: Snapshot) -> bool:
    """If the correct agents hold a strict majority for one value, every correct agent decides."""
    protocol = snap.protocol
    assert isinstance(protocol, MajorityVoting)
    correct = snap.correct
    counts: dict[str, int] = {}
    for a in correct:
        counts[protocol.inputs[a]] = counts.get(protocol.inputs[a], 0) + 1
    if not any(2 * c > protocol.n for c in counts.values()):
        return True  # precondition false: nothing is promised
    return all(snap.states[a] is not None and snap.states[a].decided is not None for a in correct)


PROPERTIES = (agreement, validity, integrity, one_vote_per_member, decision_backed, someone_decides,
              termination)


# ---------------------------------------------------------------------- mutants
class _QuorumOffByOne(MajorityVoting):
    """Decides on n//2 votes: half the group (or less) is taken for a majority."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quorum = len(self.membership) // 2


class _DoubleCountRevote(MajorityVoting):
    """Counts every delivered vote, so a duplicated message counts twice."""

    def on_message(self, agent: AgentId, state: MajorityState, message: Message) -> Step:
        assert isinstance(message, Vote)
        if state.phase == "decided" or self._vote_of(state, message.sender) != message.value:
            return super().on_message(agent, state, message)
        state = msgspec.structs.replace(state, support=_add_support(state.support, message.value))
        state, decided = self._maybe_decide(agent, state, message.value)
        return Step(state, decided)


class _AcceptUnknownSender(MajorityVoting):
    """Skips the membership screen: an outsider's vote is counted."""

    def screen(self, agent: AgentId, message: Message) -> str | None:
        reason = super().screen(agent, message)
        return None if reason == "unknown-sender" else reason

    def _vote_of(self, state: MajorityState, sender: AgentId) -> str | None:
        return super()._vote_of(state, sender) if sender in self.membership else None

    def _count(self, state: MajorityState, vote: Vote) -> MajorityState:
        if vote.sender in self.membership:
            return super()._count(state, vote)
        return msgspec.structs.replace(state, support=_add_support(state.support, vote.value))


class _ForgetDecision(MajorityVoting):
    """Keeps tallying after deciding and re-decides for whichever value is now ahead."""

    def on_message(self, agent: AgentId, state: MajorityState, message: Message) -> Step:
        if state.phase == "decided":
            state = msgspec.structs.replace(state, phase="voting")
        return super().on_message(agent, state, message)

    def _maybe_decide(self, agent: AgentId, state: MajorityState, value: str) -> tuple[MajorityState, tuple]:
        if state.phase == "decided":
            return state, ()
        counted = sum(count for _, count in state.support)
        best, best_count = max(state.support, key=lambda item: item[1])  # ties: first value
        if 2 * best_count >= counted and counted > 1:
            return msgspec.structs.replace(state, phase="decided", decided=best), (Decide(best),)
        return state, ()


class _WaitForEveryone(MajorityVoting):
    """Demands all n votes for one value: split inputs, or one crash, block everyone forever."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.quorum = len(self.membership)


def _split_inputs(n: int) -> dict[AgentId, str]:
    """Inputs that make disagreement possible: a minority votes 'x', the rest 'y'."""
    minority = (n - 1) // 2
    return {f"a{i}": ("x" if i < minority else "y") for i in range(n)}


def build(agents: int, faulty: int = 0, cls: type[MajorityVoting] = MajorityVoting) -> MajorityVoting:
    membership = Membership.of_size(agents)
    if faulty < 0 or 2 * faulty >= agents:
        raise ConfigurationError(f"simple majority tolerates f < n/2 crashes; got n={agents}, f={faulty}")
    return cls(membership, _split_inputs(agents))


def _mutant(name: str, cls: type[MajorityVoting], description: str, breaks: tuple[str, ...],
            **overrides: Any) -> Mutant:
    return Mutant("majority", name, description, breaks,
                  lambda agents, faulty: build(agents, faulty, cls), overrides)


ENTRY = ProtocolEntry(
    name="majority",
    summary="simple majority vote, crash-fault tolerant (f < n/2)",
    fault_model="crash",
    factory=build,
    properties=PROPERTIES,
    mutants=(
        _mutant("quorum-off-by-one", _QuorumOffByOne, "decides on n//2 votes instead of n//2+1",
                ("MAJ-S1", "MAJ-S2", "MAJ-S5")),
        _mutant("double-count-revote", _DoubleCountRevote,
                "a duplicated vote message is counted twice", ("MAJ-S4",), duplicates=1),
        _mutant("accept-unknown-sender", _AcceptUnknownSender,
                "a vote from a non-member is counted", ("MAJ-S4", "MAJ-S5"), intruder=True),
        _mutant("forget-decision", _ForgetDecision,
                "keeps voting after deciding and decides on a bare plurality", ("MAJ-S1", "MAJ-S3")),
        _mutant("wait-for-everyone", _WaitForEveryone,
                "waits for all n votes, so split inputs or one crash block termination", ("MAJ-L1",)),
    ),
    default_agents=3,
    default_faulty=1,
    check_defaults={"network": "multiset", "intruder": True},
)
