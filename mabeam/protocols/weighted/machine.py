"""The weighted-vote state machine: messages, node state, phase graph, handlers.

Every agent broadcasts its input once. An agent decides ``v`` once the members
whose counted vote is ``v`` hold strictly more than ``threshold x total`` weight.
The node state carries each value's support, updated as a vote is counted, so
a step never scans or re-sums the tally.
Weights come only from the configuration (this object), never from a vote; a
member's first vote is the one counted, a repeat is ignored and a conflicting
one yields equivocation evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Annotated, ClassVar

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
    """One agent's view. ``votes[i]`` is the first vote counted from member ``i`` of the
    membership (``None``: none yet); ``support`` is the weight credited to each value,
    kept up to date vote by vote so a step never re-sums the tally."""

    phase: str
    votes: tuple[str | None, ...]
    #: (value, weight of its counted voters in the protocol's integer units), sorted by value;
    #: exactly the values with at least one counted vote
    support: tuple[tuple[str, int], ...]
    refused: frozenset[tuple[AgentId, str]] = frozenset()  # conflicting votes seen and not counted
    decided: str | None = None

    def support_for(self, value: str) -> int:
        """The units credited to ``value`` (0 if nobody voted it)."""
        for v, units in self.support:
            if v == value:
                return units
        return 0


def credit(support: tuple[tuple[str, int], ...], value: str, units: int) -> tuple[tuple[str, int], ...]:
    """``support`` with ``units`` more for ``value`` (a new entry if it had none), still sorted."""
    for i, (v, held) in enumerate(support):
        if v == value:
            return support[:i] + ((v, held + units),) + support[i + 1:]
        if v > value:
            return support[:i] + ((value, units),) + support[i:]
    return support + ((value, units),)


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

    Counting happens in integer *units*: every weight times ``unit_scale``, the
    least common multiple of the weights' denominators times the threshold's
    denominator, so the quorum is a whole number of units too and
    ``support > quorum`` is exact integer arithmetic. The object holds
    configuration only; it never grows with traffic.
    """

    name = "weighted"
    message_types: tuple[type[Message], ...] = (Vote,)
    #: the node-state type (mutants that must remember more extend it)
    state_type: ClassVar[type[WeightedState]] = WeightedState

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
        #: integer units per unit of weight: every weight and the quorum are whole numbers of units
        self.unit_scale: int = (math.lcm(*(w.denominator for w in self.weights.values()))
                                * self.threshold.denominator)
        #: each member's weight in units, by membership position (each a multiple of the
        #: threshold's denominator, so the quorum below is exact)
        self.weight_units: tuple[int, ...] = tuple(int(self.weights[a] * self.unit_scale)
                                                   for a in self.agents)
        self.total_units: int = sum(self.weight_units)
        #: units a value's voters must strictly exceed: quorum_weight x unit_scale
        self.quorum_units: int = self.total_units // self.threshold.denominator * self.threshold.numerator

    # ----------------------------------------------------------- configuration
    def weight_of(self, agents: Iterable[AgentId]) -> Fraction:
        """The configured weight of a set of members (each counted once)."""
        index = self.membership.index
        return Fraction(sum(self.weight_units[index(a)] for a in set(agents)), self.unit_scale)

    def support(self, state: WeightedState, value: str) -> Fraction:
        """The weight ``state`` credits to ``value``."""
        return Fraction(state.support_for(value), self.unit_scale)

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
        state, decided = self._maybe_decide(state, value)
        return Step(state, (Broadcast(self._vote(agent, value)),) + decided)

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> Step:
        assert isinstance(message, Vote)
        if state.phase == "decided":
            return Step(state)
        position = self.membership.index(message.sender)
        counted = state.votes[position]
        if counted == message.value:
            return Step(state)  # a re-vote never counts twice
        if counted is not None:
            return self._equivocation(state, counted, message)
        state = self._count(state, position, message)
        state, decided = self._maybe_decide(state, message.value)
        return Step(state, decided)

    # ----------------------------------------------------- rules (mutants override)
    def _vote(self, sender: AgentId, value: str) -> Vote:
        return Vote(session=self.session, sender=sender, value=value)

    def _initial_state(self, agent: AgentId, value: str) -> WeightedState:
        position = self.membership.index(agent)
        votes = (None,) * position + (value,) + (None,) * (self.n - position - 1)
        return self.state_type("voting", votes, ((value, self.weight_units[position]),))

    def _credited_units(self, position: int, vote: Vote) -> int:
        """The units a counted vote adds: the configured weight of its sender, never the vote's word."""
        return self.weight_units[position]

    def _count(self, state: WeightedState, position: int, vote: Vote) -> WeightedState:
        PHASES.check(state.phase, "count", "voting")
        votes = state.votes[:position] + (vote.value,) + state.votes[position + 1:]
        support = credit(state.support, vote.value, self._credited_units(position, vote))
        return msgspec.structs.replace(state, votes=votes, support=support)

    def _equivocation(self, state: WeightedState, counted: str, vote: Vote) -> Step:
        """Keep the first vote; report both signed votes as transferable evidence (once)."""
        if (vote.sender, vote.value) in state.refused:
            return Step(state)
        PHASES.check(state.phase, "equivocate", "voting")
        state = msgspec.structs.replace(state, refused=state.refused | {(vote.sender, vote.value)})
        return Step(state, (Evidence("equivocation", vote.sender, (self._vote(vote.sender, counted), vote)),))

    def _backed(self, units: int) -> bool:
        return units > self.quorum_units

    def _winner(self, state: WeightedState, changed: str) -> str | None:
        """The value whose voters now hold more than the quorum, if any.

        Only ``changed``, the value just credited, can be: a voting node backed
        nothing before this step, or it would have decided then.
        """
        return changed if self._backed(state.support_for(changed)) else None

    def _maybe_decide(self, state: WeightedState, changed: str) -> tuple[WeightedState, tuple[Decide, ...]]:
        value = self._winner(state, changed)
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
        votes = ", ".join(f"{a}:{v}" for a, v in zip(self.agents, state.votes) if v is not None)
        refused = "".join(f" refused {a}:{v}" for a, v in sorted(state.refused))
        return f"{state.phase} [{votes}]{refused}" + (f" decided={state.decided!r}" if state.decided else "")
