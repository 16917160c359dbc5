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

from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import msgspec

from ...core import (
    AgentId, Broadcast, CancelTimer, ConfigurationError, Decide, Envelope, Evidence, InsufficientReplicasError,
    Membership, Message, PhaseGraph, PhaseTransition, Protocol, Reject, SetTimer, Step,
)
from .values import Vector, WireVector, decode, encode, exact, exact_vector, rounds_needed, spread

GRACE_TIMER = "grace"

PHASES = PhaseGraph(
    "iterative", ["collecting", "done"], "collecting",
    [
        PhaseTransition("next-round", "collecting", "collecting",
                        "all n round-r values, or grace timer fired (armed at n-f), and r < R"),
        PhaseTransition("last-round", "collecting", "done",
                        "all n round-R values, or grace timer fired (armed at n-f)"),
        PhaseTransition("no-rounds", "collecting", "done", "R = 0: the domain is already within epsilon"),
    ],
)


class RoundValue(Message, frozen=True, tag="iterative.value"):
    """An agent's value entering ``round`` (rationals as (numerator, denominator) pairs)."""

    round: int
    value: WireVector


class RoundRecord(msgspec.Struct, frozen=True, cache_hash=True):
    """One completed round: the value the agent entered with and the view it left with."""

    round: int
    entered: Vector
    view: frozenset[tuple[AgentId, Vector]]
    left: Vector


class NumericState(msgspec.Struct, frozen=True, cache_hash=True):
    phase: str
    round: int
    value: Vector
    #: values received for the current and later rounds: (round, sender, value), one per (round, sender)
    inbox: frozenset[tuple[int, AgentId, Vector]]
    grace_armed: bool = False
    timed_out: bool = False
    history: tuple[RoundRecord, ...] = ()
    decided: tuple[Vector, int] | None = None


class ApproximateAgreement(Protocol):
    """One approximate-agreement instance: inputs, fault bound f, public domain, epsilon."""

    name = "iterative"
    message_types = (RoundValue,)

    def __init__(self, membership: Membership | Iterable[AgentId], inputs: Mapping[AgentId, object],
                 faulty: int, domain: tuple[object, object], epsilon: object, max_rounds: int = 32,
                 session: str = "s0", grace: float = 1.0, equivocate_to_one: bool = False) -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        if not isinstance(faulty, int) or isinstance(faulty, bool) or faulty < 0:
            raise ConfigurationError(f"faulty must be a non-negative integer, got {faulty!r}")
        if self.n <= 3 * faulty:
            raise InsufficientReplicasError(
                f"approximate agreement needs n > 3f; got n={self.n}, f={faulty}")
        if not isinstance(max_rounds, int) or isinstance(max_rounds, bool) or max_rounds < 1:
            raise ConfigurationError(f"max_rounds must be a positive integer, got {max_rounds!r}")
        low, high = exact(domain[0], "domain low"), exact(domain[1], "domain high")
        if low > high:
            raise ConfigurationError(f"domain low {low} exceeds domain high {high}")
        self.epsilon = exact(epsilon, "epsilon")
        if self.epsilon <= 0:
            raise ConfigurationError(f"epsilon must be positive, got {epsilon!r}")
        missing = [a for a in self.agents if a not in inputs]
        extra = [a for a in inputs if a not in self.membership]
        if missing or extra:
            raise ConfigurationError(f"inputs must name every member exactly: missing {missing}, "
                                     f"unknown {extra}")
        self.inputs: dict[AgentId, Vector] = {a: exact_vector(inputs[a], f"input of {a}") for a in self.agents}
        dimensions = {len(v) for v in self.inputs.values()}
        if len(dimensions) != 1:
            raise ConfigurationError(f"every input must have the same dimension, got {sorted(dimensions)}")
        self.dimension = dimensions.pop()
        for agent, vector in self.inputs.items():
            if any(not low <= x <= high for x in vector):
                raise ConfigurationError(f"input of {agent} lies outside the domain [{low}, {high}]")
        self.f = faulty
        self.domain = (low, high)
        self.quorum = self.n - faulty
        self.trim = faulty
        self.rounds_needed = rounds_needed(high - low, self.epsilon)
        self.max_rounds = max_rounds
        self.rounds = min(self.rounds_needed, max_rounds)
        if not isinstance(grace, (int, float)) or isinstance(grace, bool) or not grace > 0 \
                or grace == float("inf"):
            raise ConfigurationError(f"grace must be a positive finite delay, got {grace!r}")
        self.grace = float(grace)
        #: whether the modelled Byzantine agent also sends both extremes to the same agent
        self.equivocate_to_one = equivocate_to_one

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

    # ------------------------------------------------------------ adversaries
    def extremes(self) -> tuple[Vector, Vector]:
        """Values just outside the public domain on either side: what a Byzantine agent sends."""
        low, high = self.domain
        width = (high - low) or Fraction(1)
        return (low - width,) * self.dimension, (high + width,) * self.dimension

    def adversary_messages(self, faulty: AgentId) -> Iterable[Envelope]:
        """Each round, a very low value to the lower half of the others and a very high one to the rest.

        The halves swap every round, so the adversary equivocates in every round and pushes
        the agents with the most extreme inputs apart. With ``equivocate_to_one`` the first
        recipient also gets the opposite extreme (it may then see either first).
        """
        low, high = self.extremes()
        others = self.membership.others(faulty)
        for round_ in range(1, self.rounds + 1):
            for position, to in enumerate(others):
                lower_half = 2 * position < len(others) - 1
                first, second = (low, high) if lower_half == (round_ % 2 == 1) else (high, low)
                for value in (first, second) if self.equivocate_to_one and position == 0 else (first,):
                    yield Envelope(to, RoundValue(session=self.session, sender=faulty, round=round_,
                                                  value=encode(value)))

    def forged_messages(self) -> Iterable[Envelope]:
        """An outsider injects an extreme value into round 1."""
        low, _ = self.extremes()
        return [Envelope(a, RoundValue(session=self.session, sender="intruder", round=1, value=encode(low)))
                for a in self.agents]

    # ------------------------------------------------------------------ reports
    def decision_of(self, state: NumericState) -> Any:
        return None if state is None else state.decided

    def describe_state(self, state: NumericState) -> str:
        value = ", ".join(str(x) for x in state.value)
        return f"{state.phase} r{state.round} value=({value}) rounds-done={len(state.history)}"


def convergence_history(state: NumericState) -> list[dict[str, Any]]:
    """Per completed round: the spread of the agent's view after trimming, and its new value."""
    rows = []
    for record in state.history:
        values = [v for _, v in sorted(record.view)]
        rows.append({"round": record.round, "received": len(values), "view_spread": spread(values),
                     "value": record.left})
    return rows


# ------------------------------------------------------------------ configuration
CHECK_DOMAIN = (Fraction(0), Fraction(4))
CHECK_EPSILON = Fraction(1)  # R = 2 rounds: the standard check
ONE_ROUND_EPSILON = Fraction(2)  # R = 1 round: where the mutants are checked


def spread_inputs(agents: int, faulty: int) -> dict[AgentId, Fraction]:
    """Honest inputs spread evenly over the whole domain [0, 4], so trimming and every round matter."""
    honest = max(1, agents - faulty - 1)
    low, high = CHECK_DOMAIN
    return {f"a{i}": min(high, low + (high - low) * Fraction(i, honest)) for i in range(agents)}


def build(agents: int, faulty: int = 0, cls: type[ApproximateAgreement] = ApproximateAgreement,
          **options: Any) -> ApproximateAgreement:
    """The checked instance: domain [0, 4], epsilon 1, so R = 2 rounds (``epsilon``/``max_rounds`` vary it)."""
    options.setdefault("max_rounds", 3)
    epsilon = options.pop("epsilon", CHECK_EPSILON)
    return cls(Membership.of_size(agents), spread_inputs(agents, faulty), faulty, CHECK_DOMAIN,
               epsilon, **options)
