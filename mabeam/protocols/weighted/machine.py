"""The weighted-vote state machine.

Every agent broadcasts its input once. An agent decides ``v`` once the members
whose counted vote is ``v`` hold strictly more than ``threshold x total`` weight.
The node state carries each value's support, updated as a vote is counted, so
a step never scans or re-sums the tally.
Weights come only from the configuration (this object), never from a vote; a
member's first vote is the one counted, a repeat is ignored and a conflicting
one yields equivocation evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any, ClassVar

import msgspec

from ...core import AgentId, Broadcast, ConfigurationError, Decide, Evidence, Membership, Message, Protocol, Step
from .. import classes_by
from .adversary import WeightedAdversary
from .config import (
    Mode,
    next_session,
    quorum_units,
    unit_scale,
    validate_faulty_weight,
    validate_inputs,
    validate_mode,
    validate_threshold,
    validate_weights,
)
from .messages import MESSAGE_TYPES, Vote
from .properties import PROPERTIES
from .state import PHASES, WeightedState, credit


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
    message_types: ClassVar[tuple[type[Message], ...]] = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = WeightedAdversary()
    #: the node-state type (mutants that must remember more extend it)
    state_type: ClassVar[type[WeightedState]] = WeightedState
    #: ``votes[i]`` is member ``i``'s first vote: renaming agents moves entries, it does not rename them
    per_member_fields: ClassVar[Mapping[type, tuple[str, ...]]] = {WeightedState: ("votes",)}

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
        self.unit_scale: int = unit_scale(self.weights.values(), self.threshold)
        #: each member's weight in units, by membership position (each a multiple of the
        #: threshold's denominator, so the quorum below is exact)
        self.weight_units: tuple[int, ...] = tuple(int(self.weights[a] * self.unit_scale)
                                                   for a in self.agents)
        self.total_units: int = sum(self.weight_units)
        #: units a value's voters must strictly exceed: quorum_weight x unit_scale
        self.quorum_units: int = quorum_units(self.total_units, self.threshold)

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
        return Step(state, (Broadcast(self.signed_vote(agent, value)),) + decided)

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
    def signed_vote(self, sender: AgentId, value: str) -> Vote:
        """The vote ``sender`` signs for ``value`` (the wire format a mutant changes)."""
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
        return Step(state, (Evidence("equivocation", vote.sender, (self.signed_vote(vote.sender, counted), vote)),))

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

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """Members with equal inputs and weights, but only in crash mode.

        A counted vote is credited its sender's configured weight, and the properties read
        inputs and weights per member, so only members equal in both may be swapped. This
        object cannot see which members a check makes Byzantine: in Byzantine mode a class
        may mix an honest and a Byzantine member (the standard check's a2 and a3 both vote
        ``y`` with weight 1), which the checker refuses, so none is declared there. Crash
        mode admits no Byzantine member at all.
        """
        if self.mode != "crash":
            return ()
        return classes_by(self.agents, lambda a: (self.inputs[a], self.weights[a]))

    def sends_no_more(self, state: Any) -> bool:
        """Always: a voter broadcasts only in ``on_start``; ``on_message`` emits decisions and
        evidence only, and no timer is ever armed."""
        return True

    def describe_state(self, state: WeightedState) -> str:
        votes = ", ".join(f"{a}:{v}" for a, v in zip(self.agents, state.votes) if v is not None)
        refused = "".join(f" refused {a}:{v}" for a, v in sorted(state.refused))
        return f"{state.phase} [{votes}]{refused}" + (f" decided={state.decided!r}" if state.decided else "")
