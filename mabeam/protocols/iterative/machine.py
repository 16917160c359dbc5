"""Byzantine-tolerant approximate agreement on numbers and vectors (spec: ``spec/iterative.md``).

Each honest agent starts from its input and refines it over R rounds. In
round r it broadcasts its current value and collects round-r values, one per
member (its own included). Once it holds n - f it arms a grace timer; it leaves
the round when it holds all n values or when the timer fires. Its next value is,
coordinate-wise, the midpoint of what remains after dropping the f lowest and f
highest values it collected. With n > 3f an honest value survives on each side
of the trim, so every new value lies in the honest range (validity). Two views
sharing at least 2f + 1 identical entries end within half the honest range of
each other: that holds for any two views when n > 5f, and for 3f < n <= 5f in
rounds where the grace timer outlasts message delay (every honest view then
holds every honest value). Under full asynchrony with 3f < n <= 5f the honest
range never grows but need not shrink (Z3 shows it for n = 4, 5 with f = 1).
R = ceil(log2(width / epsilon)) from the public input domain, capped by
``max_rounds``; after round R the agent decides ``(value, R)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import msgspec

from ...core import (
    AgentId,
    Broadcast,
    CancelTimer,
    Decide,
    Evidence,
    Membership,
    Message,
    Protocol,
    Reject,
    SetTimer,
    Step,
)
from ...core.agreement import within_tolerance
from .. import classes_by
from .adversary import IterativeAdversary
from .config import (
    quorum,
    round_count,
    validate_domain,
    validate_epsilon,
    validate_grace,
    validate_inputs,
    validate_sizes,
)
from .messages import MESSAGE_TYPES, RoundValue
from .properties import PROPERTIES
from .state import PHASES, NumericState, RoundRecord
from .values import Vector, decode, encode, rounds_needed

GRACE_TIMER = "grace"


class ApproximateAgreement(Protocol):
    """One approximate-agreement instance: inputs, fault bound f, public domain, epsilon."""

    name = "iterative"
    message_types = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = IterativeAdversary()

    def __init__(self, membership: Membership | Iterable[AgentId], inputs: Mapping[AgentId, object],
                 faulty: int, domain: tuple[object, object], epsilon: object, max_rounds: int = 32,
                 session: str = "s0", grace: float = 1.0, equivocate_to_one: bool = False) -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        validate_sizes(self.n, faulty, max_rounds)
        low, high = validate_domain(domain)
        #: decided values agree when they are within epsilon (``decisions_agree``)
        self.epsilon = validate_epsilon(epsilon)
        self.inputs: dict[AgentId, Vector] = validate_inputs(self.membership, inputs, (low, high))
        self.dimension = len(next(iter(self.inputs.values())))
        self.f = faulty
        self.domain = (low, high)
        self.quorum = quorum(self.n, faulty)
        self.trim = faulty
        self.rounds_needed = rounds_needed(high - low, self.epsilon)
        self.max_rounds = max_rounds
        self.rounds = round_count(high - low, self.epsilon, max_rounds)
        self.grace = validate_grace(grace)
        #: whether the modelled Byzantine agent also sends both extremes to the same agent
        self.equivocate_to_one = equivocate_to_one

    def decisions_agree(self, values: Sequence[Any]) -> bool:
        """Decisions ``(value, rounds)`` agree when every coordinate is within epsilon and the rounds are equal."""
        return within_tolerance(values, self.epsilon)

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        value = self.inputs[agent]
        if self._last_round() <= 0:
            phase = PHASES.check("collecting", "no-rounds", "done")
            return Step(NumericState(phase, 0, value, frozenset(), decided=(value, 0)), (Decide((value, 0)),))
        return self._enter(agent, NumericState("collecting", 0, value, frozenset()), 1, value, ())

    def on_message(self, agent: AgentId, state: NumericState, message: Message) -> Step:
        assert isinstance(message, RoundValue)
        if not 1 <= message.round <= self.rounds:
            return Step(state, (Reject("bad-round", message),))
        value = decode(message.value, self.dimension)
        if value is None:
            return Step(state, (Reject("malformed-value", message),))
        if state.phase == "done" or message.round < state.round:
            return Step(state)  # a late value for a round this agent has left: ignored, not an error
        previous = self._value_from(state, message.round, message.sender)
        if previous is not None:
            if previous == value:
                return Step(state)  # a duplicate never counts twice
            earlier = message.replace(value=encode(previous))
            return Step(state, (Evidence("equivocation", message.sender, (earlier, message)),))
        state = self._record(state, message.round, message.sender, value)
        return self._advance(agent, state, ())

    def on_timer(self, agent: AgentId, state: NumericState, timer: str) -> Step:
        if timer != GRACE_TIMER or state.phase == "done":
            return Step(state)
        return self._advance(agent, msgspec.structs.replace(state, timed_out=True), ())

    # ----------------------------------------------------- rules (mutants override)
    def _value_from(self, state: NumericState, round_: int, sender: AgentId) -> Vector | None:
        return next((v for r, s, v in state.inbox if r == round_ and s == sender), None)

    def _record(self, state: NumericState, round_: int, sender: AgentId, value: Vector) -> NumericState:
        return msgspec.structs.replace(state, inbox=state.inbox | {(round_, sender, value)})

    def _view(self, state: NumericState) -> frozenset[tuple[AgentId, Vector]]:
        return frozenset((s, v) for r, s, v in state.inbox if r == state.round)

    def _ready(self, state: NumericState, view: frozenset[tuple[AgentId, Vector]]) -> bool:
        return len(view) >= self.n or (state.timed_out and len(view) >= self.quorum)

    def _last_round(self) -> int:
        return self.rounds

    def refine(self, agent: AgentId, state: NumericState, values: list[Vector]) -> Vector:
        """Coordinate-wise midpoint of the values left after trimming ``trim`` from each end."""
        out = []
        for column in zip(*values):
            kept = sorted(column)[self.trim:len(column) - self.trim]
            out.append((kept[0] + kept[-1]) / 2)
        return tuple(out)

    # ------------------------------------------------------------ round logic
    def _enter(self, agent: AgentId, state: NumericState, round_: int, value: Vector,
               effects: tuple) -> Step:
        state = msgspec.structs.replace(
            state, round=round_, value=value, grace_armed=False, timed_out=False,
            inbox=frozenset(e for e in state.inbox if e[0] >= round_) | {(round_, agent, value)})
        message = RoundValue(session=self.session, sender=agent, round=round_, value=encode(value))
        return self._advance(agent, state, effects + (Broadcast(message),))

    def _advance(self, agent: AgentId, state: NumericState, effects: tuple) -> Step:
        view = self._view(state)
        if state.phase == "done":
            return Step(state, effects)
        if not self._ready(state, view):
            if len(view) >= self.quorum and not state.grace_armed:
                state = msgspec.structs.replace(state, grace_armed=True)
                effects = effects + (SetTimer(GRACE_TIMER, self.grace),)
            return Step(state, effects)
        if state.grace_armed and not state.timed_out:
            effects = effects + (CancelTimer(GRACE_TIMER),)
        new_value = self.refine(agent, state, [v for _, v in sorted(view)])
        record = RoundRecord(state.round, state.value, view, new_value)
        state = msgspec.structs.replace(state, history=state.history + (record,))
        if state.round >= self._last_round():
            phase = PHASES.check(state.phase, "last-round", "done")
            decision = (new_value, state.round)
            state = msgspec.structs.replace(state, phase=phase, value=new_value, inbox=frozenset(),
                                            decided=decision)
            return Step(state, effects + (Decide(decision),))
        PHASES.check(state.phase, "next-round", "collecting")
        return self._enter(agent, state, state.round + 1, new_value, effects)

    # ------------------------------------------------------------ the adversary's values
    def extremes(self) -> tuple[Vector, Vector]:
        """Values just outside the public domain on either side: what a Byzantine agent sends."""
        low, high = self.domain
        width = (high - low) or Fraction(1)
        return (low - width,) * self.dimension, (high + width,) * self.dimension

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """Members with equal inputs, but only in an instance that tolerates no Byzantine member.

        After ``on_start`` the handlers never read the inputs (a node refines the values it
        received, whoever sent them), and the properties read them per agent (a node's
        round-1 value is its input), so equal inputs make members interchangeable. This
        object cannot see which members a check makes Byzantine; with ``f > 0`` a class of
        equal inputs may mix an honest and a Byzantine member (the standard check's a2 and
        a3 both hold 4), which the checker refuses, so none is declared there.
        """
        if self.f:
            return ()
        return classes_by(self.agents, self.inputs.__getitem__)

    def sends_no_more(self, state: NumericState) -> bool:
        """Once done: ``on_message`` then only rejects or ignores and ``on_timer`` ignores the
        grace timer, so the decision's round was the last broadcast."""
        return state.phase == "done"

    # ------------------------------------------------------------------ reports
    def decision_of(self, state: NumericState) -> Any:
        return None if state is None else state.decided

    def describe_state(self, state: NumericState) -> str:
        value = ", ".join(str(x) for x in state.value)
        return f"{state.phase} r{state.round} value=({value}) rounds-done={len(state.history)}"
