"""Iterative refinement of a categorical answer (spec: ``spec/iterative-categorical.md``).

Agents (e.g. reasoning agents) each hold an answer among fixed candidates and a
confidence. In round r every agent broadcasts its current answer and waits for
round-r proposals from n - f members, its own included (crash faults: f agents
may stop). It then adopts the confidence-weighted plurality of those proposals,
ties broken by candidate order, and keeps its own confidence. It stops once the
plurality it computed has been the same for ``stable_rounds`` consecutive
rounds, or after ``max_rounds``, deciding ``(answer, rounds_used)`` and sending
a final proposal that stands in for all its later rounds, so agents that are
still refining are never left waiting for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import msgspec

from ...core import AgentId, Broadcast, Decide, Membership, Message, Protocol, Reject, Step
from ...core.rationals import from_wire, to_wire
from .. import classes_by
from .adversary import CategoricalAdversary
from .config import quorum, validate_candidates, validate_inputs, validate_sizes
from .messages import MESSAGE_TYPES, Proposal
from .properties import PROPERTIES
from .state import PHASES, CategoricalState, RoundSummary


class CategoricalRefinement(Protocol):
    """One refinement instance: ordered candidates, each member's (answer, confidence), f crashes."""

    name = "iterative-categorical"
    message_types = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = CategoricalAdversary()
    #: views differ after a crash, so agents may settle on different answers (spec: no agreement property)
    promises_agreement = False

    def __init__(self, membership: Membership | Iterable[AgentId],
                 inputs: Mapping[AgentId, tuple[str, object]], candidates: Sequence[str], faulty: int = 0,
                 stable_rounds: int = 2, max_rounds: int = 5, session: str = "s0") -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        self.candidates = validate_candidates(candidates)
        validate_sizes(self.n, faulty, stable_rounds, max_rounds)
        self.inputs: dict[AgentId, tuple[str, Fraction]] = validate_inputs(self.membership, inputs,
                                                                           self.candidates)
        self.f = faulty
        self.quorum = quorum(self.n, faulty)
        self.stable_rounds = stable_rounds
        self.max_rounds = max_rounds
        #: the last round an agent may enter (mutants move it)
        self.round_limit = max_rounds

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        answer, _ = self.inputs[agent]
        return self._enter(agent, CategoricalState("refining", 0, answer, frozenset()), 1, ())

    def on_message(self, agent: AgentId, state: CategoricalState, message: Message) -> Step:
        assert isinstance(message, Proposal)
        if not 1 <= message.round <= self.round_limit:
            return Step(state, (Reject("bad-round", message),))
        if message.answer not in self.candidates:
            return Step(state, (Reject("unknown-answer", message),))
        confidence = from_wire(message.confidence)
        if confidence is None or confidence < 0:
            return Step(state, (Reject("malformed-confidence", message),))
        if state.phase == "done":
            return Step(state)
        entry = (message.round, message.sender, message.answer, confidence)
        if message.final:
            if any(s == message.sender for _, s, _, _ in state.finals):
                return Step(state)
            state = msgspec.structs.replace(state, finals=state.finals | {entry})
        else:
            if message.round < state.round or any(
                    r == message.round and s == message.sender for r, s, _, _ in state.inbox):
                return Step(state)  # late, or a second proposal for the same round: never counted
            state = msgspec.structs.replace(state, inbox=state.inbox | {entry})
        return self._advance(agent, state, ())

    # ----------------------------------------------------- rules (mutants override)
    def view(self, state: CategoricalState) -> dict[AgentId, tuple[str, Fraction]]:
        """Round-r proposals by sender; a stopped sender's final proposal fills its gap."""
        view = {s: (a, c) for r, s, a, c in state.inbox if r == state.round}
        for first, sender, answer, confidence in state.finals:
            if first <= state.round:
                view.setdefault(sender, (answer, confidence))
        return view

    def _ready(self, view: Mapping[AgentId, Any]) -> bool:
        return len(view) >= self.quorum

    def plurality(self, view: Mapping[AgentId, tuple[str, Fraction]]) -> str:
        """The confidence-weighted plurality answer; ties go to the earliest candidate."""
        support = self._support(view)
        best = max(support.values())
        return next(c for c in self.candidates if c in support and support[c] == best)

    def _support(self, view: Mapping[AgentId, tuple[str, Fraction]]) -> dict[str, Fraction]:
        support: dict[str, Fraction] = {}
        for answer, confidence in view.values():
            support[answer] = support.get(answer, Fraction(0)) + confidence
        return support

    def _out_of_rounds(self, state: CategoricalState) -> bool:
        return state.round >= self.round_limit

    # ------------------------------------------------------------ round logic
    def _proposal(self, agent: AgentId, round_: int, answer: str, final: bool = False) -> Proposal:
        confidence = self.inputs[agent][1]
        return Proposal(session=self.session, sender=agent, round=round_, answer=answer,
                        confidence=to_wire(confidence), final=final)

    def _enter(self, agent: AgentId, state: CategoricalState, round_: int, effects: tuple) -> Step:
        own = (round_, agent, state.answer, self.inputs[agent][1])
        state = msgspec.structs.replace(
            state, round=round_, inbox=frozenset(e for e in state.inbox if e[0] >= round_) | {own})
        return self._advance(agent, state, effects + (Broadcast(self._proposal(agent, round_, state.answer)),))

    def _advance(self, agent: AgentId, state: CategoricalState, effects: tuple) -> Step:
        view = self.view(state)
        if state.phase == "done" or not self._ready(view):
            return Step(state, effects)
        winner = self.plurality(view)
        support = self._support(view)
        total = sum(support.values())
        share = support.get(winner, Fraction(0)) / total if total else Fraction(1)
        summary = RoundSummary(state.round, winner, share, sum(1 for a, _ in view.values() if a == winner),
                               len(view))
        streak = state.streak + 1 if state.history and state.history[-1].plurality == winner else 1
        state = msgspec.structs.replace(state, answer=winner, streak=streak,
                                        history=state.history + (summary,))
        stable = streak >= self.stable_rounds
        if stable or self._out_of_rounds(state):
            trigger = "stable" if stable else "out-of-rounds"
            phase = PHASES.check(state.phase, trigger, "done")
            decision = (winner, state.round)
            state = msgspec.structs.replace(state, phase=phase, inbox=frozenset(), finals=frozenset(),
                                            decided=decision)
            effects += (Decide(decision),)
            if state.round < self.round_limit:
                effects += (Broadcast(self._proposal(agent, state.round + 1, winner, final=True)),)
            return Step(state, effects)
        PHASES.check(state.phase, "next-round", "refining")
        return self._enter(agent, state, state.round + 1, effects)

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """Members with equal inputs (answer and confidence) are interchangeable.

        The handlers read a member's own input when it enters a round (its proposal's
        answer and confidence), so only members with equal inputs may be swapped; views
        and pluralities are computed over sets of proposals, whoever sent them. Crashes
        and the intruder's forged proposal (sent to every member) treat all members alike.
        The fault model is crashes: nobody is Byzantine, so no class mixes honest and faulty.
        """
        return classes_by(self.agents, self.inputs.__getitem__)

    def sends_no_more(self, state: CategoricalState) -> bool:
        """Once done: ``on_message`` then only rejects or ignores (the final proposal was
        broadcast in the deciding step), and this machine arms no timers."""
        return state.phase == "done"

    def decision_of(self, state: CategoricalState) -> Any:
        return None if state is None else state.decided

    def describe_state(self, state: CategoricalState) -> str:
        return f"{state.phase} r{state.round} answer={state.answer!r} streak={state.streak}"

