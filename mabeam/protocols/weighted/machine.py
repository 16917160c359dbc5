"""The weighted-vote state machine: messages, node state, phase graph, handlers.

Every agent broadcasts its input once. An agent decides ``v`` once the members
whose counted vote is ``v`` hold strictly more than ``threshold x total`` weight.
Weights come only from the configuration (this object), never from a vote; a
member's first vote is the one counted, a repeat is ignored and a conflicting
one yields equivocation evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Annotated

import msgspec

from ...core import (
    AgentId, Broadcast, ConfigurationError, Decide, Envelope, Evidence, Membership, Message,
    PhaseGraph, PhaseTransition, Protocol, Step,
)
from .config import (
    Mode, validate_faulty_weight, validate_inputs, validate_mode, validate_threshold, validate_weights,
)

PHASES = PhaseGraph(
    "weighted", ["voting", "decided"], "voting",
    [
        PhaseTransition("count", "voting", "voting", "first vote of a member: count it"),
        PhaseTransition("equivocate", "voting", "voting", "conflicting vote: keep the first, emit evidence"),
        PhaseTransition("quorum", "voting", "decided", "weight(voters of v) > threshold x total"),
    ],
)

Value = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class Vote(Message, frozen=True, tag="weighted.vote", forbid_unknown_fields=True):
    """A member's vote. It has no weight field, and bytes carrying any extra field
    (a claimed weight, say) are malformed: a sender cannot claim influence."""

    value: Value


class WeightedState(msgspec.Struct, frozen=True):
    phase: str
    tally: frozenset[tuple[AgentId, str]]  # (voter, value): the first vote of each voter only
    refused: frozenset[tuple[AgentId, str]] = frozenset()  # conflicting votes seen and not counted
    decided: str | None = None


_NUMBERED_SESSION = re.compile(r"^(?P<base>.*)#(?P<number>\d+)$")


def next_session(session: str) -> str:
    """``s0`` -> ``s0#1`` -> ``s0#2``: a deterministic fresh session id for the next instance."""
    match = _NUMBERED_SESSION.match(session)
    if match is None:
        return f"{session}#1"
    return f"{match['base']}#{int(match['number']) + 1}"


class WeightedVoting(Protocol):
    """One weighted vote among ``membership`` with per-agent ``inputs`` and ``weights``.

    ``mode="byzantine"`` (the default) decides on strictly more than
    ``threshold >= 2/3`` of the total weight and is safe while the Byzantine
    agents hold at most ``max_faulty_weight < total / 3``. ``mode="crash"``
    allows ``threshold >= 1/2`` and assumes no Byzantine agent.
    """

    name = "weighted"
    message_types: tuple[type[Message], ...] = (Vote,)

    def __init__(self, membership: Membership | Iterable[AgentId], inputs: Mapping[AgentId, str],
                 weights: Mapping[AgentId, object], *, mode: Mode = "byzantine",
                 threshold: object | None = None, max_faulty_weight: object = 0,
                 session: str = "s0") -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        self.mode: Mode = validate_mode(mode)
        self.inputs = validate_inputs(self.membership, inputs)
        self.weights: dict[AgentId, Fraction] = validate_weights(self.membership, weights)
        self.total_weight: Fraction = sum(self.weights.values(), Fraction(0))
        self.threshold: Fraction = validate_threshold(self.mode, threshold)
        self.max_faulty_weight: Fraction = validate_faulty_weight(self.mode, max_faulty_weight,
                                                                  self.total_weight)
        #: the weight a value's voters must strictly exceed
        self.quorum_weight: Fraction = self.threshold * self.total_weight
        #: every value an agent may vote for: the inputs (a Byzantine agent may vote any of them)
        self.candidates: tuple[str, ...] = tuple(sorted(set(self.inputs.values())))
        self._decisions: dict[frozenset[tuple[AgentId, str]], str | None] = {}
        self._group_weights: dict[frozenset[AgentId], Fraction] = {}

    # ----------------------------------------------------------- configuration
    def weight_of(self, agents: Iterable[AgentId]) -> Fraction:
        """The configured weight of a set of members (memoised: monitors ask for the same sets)."""
        group = frozenset(agents)
        weight = self._group_weights.get(group)
        if weight is None:
            weight = self._group_weights[group] = sum((self.weights[a] for a in group), Fraction(0))
        return weight

    def tolerates(self, byzantine: Iterable[AgentId]) -> bool:
        """Whether these agents being Byzantine is within the declared fault bound."""
        byzantine = set(byzantine)
        if self.mode == "crash":
            return not byzantine
        return self.weight_of(byzantine) <= self.max_faulty_weight

    def next_instance(self, weights: Mapping[AgentId, object], *, inputs: Mapping[AgentId, str] | None = None,
                      max_faulty_weight: object | None = None, session: str | None = None) -> WeightedVoting:
        """The following instance with new weights, validated afresh, under a new session id.

        Weights change only between instances: votes of this instance carry this
        session id, so the next instance's screen refuses them as ``wrong-session``.
        """
        new_session = next_session(self.session) if session is None else session
        if new_session == self.session:
            raise ConfigurationError("the next instance needs a session id different from this one")
        return type(self)(self.membership, self.inputs if inputs is None else inputs, weights,
                          mode=self.mode, threshold=self.threshold,
                          max_faulty_weight=self.max_faulty_weight if max_faulty_weight is None
                          else max_faulty_weight, session=new_session)

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        value = self.inputs[agent]
        state = self._initial_state(agent, value)
        state, decided = self._maybe_decide(state)
        return Step(state, (Broadcast(self._vote(agent, value)),) + decided)

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        assert isinstance(message, Vote)
        if state.phase == "decided":
            return Step(state)
        counted = self._vote_of(state, message.sender)
        if counted == message.value:
            return Step(state)  # a re-vote never counts twice
        if counted is not None:
            return self._equivocation(state, counted, message)
        state = self._count(state, message)
        state, decided = self._maybe_decide(state)
        return Step(state, decided)

    # ----------------------------------------------------- rules (mutants override)
    def _vote(self, sender: AgentId, value: str) -> Vote:
        return Vote(session=self.session, sender=sender, value=value)

    def _initial_state(self, agent: AgentId, value: str) -> WeightedState:
        return WeightedState("voting", frozenset({(agent, value)}))

    def _vote_of(self, state: WeightedState, sender: AgentId) -> str | None:
        return next((v for voter, v in state.tally if voter == sender), None)

    def _count(self, state: WeightedState, vote: Vote) -> WeightedState:
        PHASES.check(state.phase, "count", "voting")
        return msgspec.structs.replace(state, tally=state.tally | {(vote.sender, vote.value)})

    def _equivocation(self, state: WeightedState, counted: str, vote: Vote) -> Step:
        """Keep the first vote; report both signed votes as transferable evidence (once)."""
        if (vote.sender, vote.value) in state.refused:
            return Step(state)
        PHASES.check(state.phase, "equivocate", "voting")
        state = msgspec.structs.replace(state, refused=state.refused | {(vote.sender, vote.value)})
        return Step(state, (Evidence("equivocation", vote.sender, (self._vote(vote.sender, counted), vote)),))

    def _weight(self, voter: AgentId) -> Fraction:
        return self.weights[voter]

    def _support(self, state: WeightedState, value: str) -> Fraction:
        return sum((self._weight(voter) for voter, v in state.tally if v == value), Fraction(0))

    def _backed(self, support: Fraction) -> bool:
        return support > self.quorum_weight

    def _winner(self, state: WeightedState) -> str | None:
        """The value whose voters hold more than the quorum weight, if any (memoised per tally)."""
        if state.tally in self._decisions:
            return self._decisions[state.tally]
        winner = next((v for v in sorted({v for _, v in state.tally}) if self._backed(self._support(state, v))),
                      None)
        self._decisions[state.tally] = winner
        return winner

    def _maybe_decide(self, state: WeightedState) -> tuple[WeightedState, tuple[Decide, ...]]:
        value = self._winner(state)
        if value is None:
            return state, ()
        phase = PHASES.check(state.phase, "quorum", "decided")
        return msgspec.structs.replace(state, phase=phase, decided=value), (Decide(value),)

    # ------------------------------------------------------------ adversaries
    def adversary_messages(self, faulty: AgentId) -> Iterable[Envelope]:
        """Every vote the faulty agent can sign: each candidate value to every other agent."""
        self.membership.require(faulty)
        return [Envelope(to, self._vote(faulty, value))
                for value in self.candidates for to in self.membership.others(faulty)]

    def forged_messages(self) -> Iterable[Envelope]:
        """An outsider signs, as itself, a vote for the first candidate to every member."""
        return [Envelope(a, Vote(session=self.session, sender="intruder", value=self.candidates[0]))
                for a in self.agents]

    def describe_state(self, state: WeightedState) -> str:
        votes = ", ".join(f"{a}:{v}" for a, v in sorted(state.tally))
        refused = "".join(f" refused {a}:{v}" for a, v in sorted(state.refused))
        return f"{state.phase} [{votes}]{refused}" + (f" decided={state.decided!r}" if state.decided else "")
