"""Leader election by majority vote: the second worked example of docs/tutorial.md.

Candidates *choose* to stand (a node's own step, offered with ``choose``);
standing sends a vote request to every voter. A voter grants its one vote to
the first request it receives. A candidate granted votes by a majority of the
voters becomes the leader and announces itself to everyone; every agent
decides the leader it learns. Two majorities of the same voters share a
voter, and a voter votes once, so there is never more than one leader.

Roles (``candidate``, ``voter``) come from the membership; the majority is the
membership's (``is_majority(granted, role="voter")``). The Z3 check in
:func:`run` proves the quorum arithmetic the safety argument rests on.

    mabeam check examples.tutorial.leader_election:ENTRY
    mabeam check examples.tutorial.leader_election:ENTRY --faulty 1   # a crashed voter can split the vote
    mabeam prove examples.tutorial.leader_election:ENTRY
"""

from __future__ import annotations

from typing import Any, cast

import msgspec

from mabeam import (
    AgentId,
    Broadcast,
    ConfigurationError,
    Decide,
    Membership,
    Message,
    Protocol,
    ProtocolEntry,
    Send,
    Snapshot,
    Step,
    always,
    choose,
    eventually,
    mutant,
    sometimes,
)
from mabeam.core.properties import agreement_holds

CANDIDATE, VOTER = "candidate", "voter"


# ------------------------------------------------------------------ messages
class RequestVote(Message, frozen=True, tag="election.request-vote"):
    """A candidate asks a voter for its vote."""


class Granted(Message, frozen=True, tag="election.granted"):
    """A voter's vote, to the one candidate it chose."""


class Leader(Message, frozen=True, tag="election.leader"):
    """A candidate with a majority announces itself."""


# ------------------------------------------------------------------ node states
class CandidateState(msgspec.Struct, frozen=True):
    phase: str  # idle | standing | leader | follower
    granted: frozenset[AgentId] = frozenset()
    leader: AgentId | None = None


class VoterState(msgspec.Struct, frozen=True):
    voted_for: AgentId | None = None
    leader: AgentId | None = None


# ------------------------------------------------------------------ properties
def _leaders(snap: Snapshot) -> list[AgentId]:
    return [a for a, s in snap.states.items() if isinstance(s, CandidateState) and s.phase == "leader"]


@always("LE-S1", "At most one leader", reads=("states",))
def one_leader(snap: Snapshot) -> bool:
    """No two candidates are leaders."""
    return len(_leaders(snap)) <= 1


@always("LE-S2", "Agreement", reads=("decisions",))
def agreement(snap: Snapshot) -> bool:
    """No two agents learn different leaders."""
    return agreement_holds(snap)


@always("LE-S3", "A leader holds a majority", reads=("states",))
def backed(snap: Snapshot) -> bool:
    """A leader was granted votes by a majority of the voters."""
    membership = snap.protocol.membership
    return all(membership.is_majority(cast(CandidateState, snap.states[a]).granted, role=VOTER)
               for a in _leaders(snap))


@sometimes("LE-R1", "Someone is elected", reads=("states",))
def elected(snap: Snapshot) -> bool:
    return bool(_leaders(snap))


@eventually("LE-L1", "Everyone learns the leader", reads=("decisions", "crashed"))
def everyone_learns(snap: Snapshot) -> bool:
    """Every correct agent eventually decides a leader (needs every voter: a crash can split the vote)."""
    decided = {d.agent for d in snap.decisions}
    return all(a in decided for a in snap.correct)


PROPERTIES = (one_leader, agreement, backed, elected, everyone_learns)


# ------------------------------------------------------------------ the machine
class LeaderElection(Protocol):
    """One election among ``membership`` (roles ``candidate`` and ``voter``)."""

    name = "leader-election"
    message_types = (RequestVote, Granted, Leader)
    properties = PROPERTIES

    def __init__(self, membership: Membership, session: str = "s0") -> None:
        super().__init__(membership, session)
        self.candidates, self.voters = self.members(CANDIDATE), self.members(VOTER)
        if set(self.candidates) & set(self.voters):
            raise ConfigurationError("in this election a candidate does not vote")

    def on_start(self, agent: AgentId) -> Step:
        if agent in self.candidates:
            return Step(CandidateState("idle"), choose("ballot", ("stand",)))
        return Step(VoterState())

    def on_choice(self, agent: AgentId, state: CandidateState, label: str, option: str) -> Step:
        """The candidate starts its ballot (unless it already learned a leader)."""
        if state.phase != "idle":
            return Step(state)
        request = RequestVote(session=self.session, sender=agent)
        return Step(CandidateState("standing"), self.send_to_role(VOTER, request))

    def on_message(self, agent: AgentId, state: Any, message: Message) -> Step:
        if isinstance(message, RequestVote) and agent in self.voters:
            return self.grant(agent, state, message.sender)
        if isinstance(message, Granted) and agent in self.candidates:
            return self.count(agent, state, message.sender)
        if isinstance(message, Leader) and message.sender in self.candidates:
            return self.follow(state, message.sender)
        return Step(state)

    # ------------------------------------------------ rules (mutants override)
    def grant(self, agent: AgentId, state: VoterState, candidate: AgentId) -> Step:
        if state.voted_for is not None:
            return Step(state)  # one vote per voter
        vote = Granted(session=self.session, sender=agent)
        return Step(msgspec.structs.replace(state, voted_for=candidate), (Send(candidate, vote),))

    def count(self, agent: AgentId, state: CandidateState, voter: AgentId) -> Step:
        if state.phase != "standing":
            return Step(state)
        granted = state.granted | {voter}
        if not self.wins(granted):
            return Step(msgspec.structs.replace(state, granted=granted))
        announce = Broadcast(Leader(session=self.session, sender=agent))
        return Step(CandidateState("leader", granted, agent), (announce, Decide(agent)))

    def wins(self, granted: frozenset[AgentId]) -> bool:
        return self.membership.is_majority(granted, role=VOTER)

    def follow(self, state: Any, leader: AgentId) -> Step:
        if state.leader is not None:
            return Step(state)
        if isinstance(state, CandidateState):
            return Step(CandidateState("follower", state.granted, leader), (Decide(leader),))
        return Step(msgspec.structs.replace(state, leader=leader), (Decide(leader),))

    def describe_state(self, state: Any) -> str:
        if isinstance(state, CandidateState):
            votes = f" votes={sorted(state.granted)}" if state.granted else ""
            return state.phase + votes + (f" leader={state.leader}" if state.leader else "")
        voted = f"voted for {state.voted_for}" if state.voted_for else "not voted"
        return voted + (f", leader={state.leader}" if state.leader else "")


# ------------------------------------------------------------------ mutants
class GrantEveryone(LeaderElection):
    """A voter grants every request it receives: two candidates can both win."""

    def grant(self, agent: AgentId, state: VoterState, candidate: AgentId) -> Step:
        vote = Granted(session=self.session, sender=agent)
        return Step(msgspec.structs.replace(state, voted_for=state.voted_for or candidate), (Send(candidate, vote),))


class HalfIsEnough(LeaderElection):
    """Half the voters (rounded down) make a leader: two disjoint halves elect two leaders."""

    def wins(self, granted: frozenset[AgentId]) -> bool:
        return len(granted) >= len(self.voters) // 2


# ------------------------------------------------------------------ Z3: the quorum arithmetic
def run() -> list[Any]:
    """Z3 checks of the arithmetic LE-S1 rests on (``mabeam prove`` runs this).

    For every number of voters n: two sets of at least n//2 + 1 voters (the
    membership's majority) share a voter, on cardinalities with inclusion-exclusion;
    then for each n up to 12 with one Bool per voter; and, so the method is seen to
    bite, the half-is-enough quorum n//2 is refuted.
    """
    import z3

    from mabeam.api.proofs import expect_refuted, prove_unsat

    def disjoint_quorums(quorum: Any) -> Any:
        def build(solver: Any) -> None:
            n, a, b, both = z3.Ints("n a b both")
            solver.add(n >= 1, a >= 1, b >= 1, a <= n, b <= n, both >= 0, both <= a, both <= b, a + b - both <= n)
            solver.add(a >= quorum(n), b >= quorum(n), both == 0)
        return build

    def disjoint_quorums_of(n: int) -> Any:
        def build(solver: Any) -> None:
            in_a, in_b = z3.BoolVector("a", n), z3.BoolVector("b", n)
            solver.add(z3.AtLeast(*in_a, n // 2 + 1), z3.AtLeast(*in_b, n // 2 + 1))
            solver.add(*[z3.Not(z3.And(x, y)) for x, y in zip(in_a, in_b)])
        return build

    results = [prove_unsat("LE-S1", "two majorities of the voters intersect (every n)",
                           disjoint_quorums(lambda n: n / 2 + 1))]
    results += [prove_unsat("LE-S1", f"two majorities of {n} voters intersect", disjoint_quorums_of(n))
                for n in range(1, 13)]
    results.append(expect_refuted(prove_unsat("LE-S1", "half the voters", disjoint_quorums(lambda n: n / 2)),
                                  "half the voters (n//2) do NOT always intersect (the check bites)"))
    return results


# ------------------------------------------------------------------ the catalog entry
def build(agents: int, faulty: int = 0, cls: type[LeaderElection] = LeaderElection) -> LeaderElection:
    """Two candidates and ``agents - 2`` voters (one candidate below four agents)."""
    if agents < 2:
        raise ConfigurationError(f"an election needs a candidate and a voter, got {agents} agents")
    if faulty < 0 or faulty >= agents:
        raise ConfigurationError(f"faulty must be in [0, {agents}), got {faulty}")
    candidates = 2 if agents >= 4 else 1
    return cls(Membership.with_roles(candidate=candidates, voter=agents - candidates))


MUTANTS = (
    mutant(GrantEveryone, "grant-everyone", "a voter grants every request, not just the first",
           ("LE-S1", "LE-S2"), build=build, size=(4, 0)),
    mutant(HalfIsEnough, "half-is-enough", "half the voters (rounded down) elect a leader",
           ("LE-S1", "LE-S2", "LE-S3"), build=build, size=(4, 0)),
)

ENTRY = ProtocolEntry(
    name="leader-election",
    summary="leader election by a majority of voters; candidates choose to stand (tutorial)",
    fault_model="crash",
    factory=build,
    properties=PROPERTIES,
    mutants=MUTANTS,
    default_agents=5,
    default_faulty=0,
    check_defaults={"network": "multiset"},
    proof_module=__name__,
    spec_path="docs/tutorial.md",
)
