"""The adaptive-coordination state machine: staged signed voting with certified fallbacks.

Each stage of the chain is a two-phase signed vote. A node votes its input;
on a quorum of votes for ``v`` it *locks* on ``v`` (keeping the signed votes as
proof) and commits; on a quorum of commits it decides. A node leaves a stage
only with a *switch certificate*: SWITCH votes holding the switch quorum,
each reporting its sender's vote and highest lock. A node that voted SWITCH
never locks again in that stage, so its report stays true. The next stage's
vote is forced to the highest lock in the certificate (and the node's own);
without any lock no value can have been decided, and the node keeps its input. A final deadline timer concludes
every undecided node with an explicit no-decision. See ``spec/adaptive.md``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import msgspec

from ...core import (
    AgentId,
    Broadcast,
    CancelTimer,
    ConfigurationError,
    Decide,
    Defer,
    Evidence,
    Membership,
    Message,
    Protocol,
    Reject,
    SetTimer,
    Step,
    canonical_bytes,
)
from ...core.auth import Authenticator, Signer, SymbolicAuthenticator
from ...core.protocol import UNFAIR
from .. import resigned
from .adversary import AdaptiveAdversary
from .config import Stage, StageSpec, build_stages, switch_quorum, validate_adversary, weakest
from .messages import MESSAGE_TYPES, Alarm, Commit, Decided, Lock, Switch, Vote
from .properties import PROPERTIES
from .state import DECIDED, NO_DECISION, AdaptiveState, Outcome, Refusal, SwitchRecord

DEADLINE_TIMER = "deadline"
M = TypeVar("M", bound=Message)


def stage_timer(stage: int) -> str:
    return f"stage-{stage}"


def lock_rank(lock: Lock) -> tuple[int, str, bytes]:
    """Locks order by stage, then value, then proof bytes (a tie-break the same in every process)."""
    return lock.stage, lock.value, canonical_bytes(lock)


class AdaptiveCoordination(Protocol):
    """One adaptive session: ``inputs`` per member, a fallback ``chain`` and a ``deadline``.

    ``allow_weaker_after_evidence`` lets a node that holds equivocation evidence
    still fall back to a crash-only stage (refused by default).
    """

    name = "adaptive"
    message_types = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = AdaptiveAdversary()
    state_type: ClassVar[type[AdaptiveState]] = AdaptiveState

    def __init__(self, membership: Membership | Iterable[AgentId], inputs: Mapping[AgentId, str],
                 chain: Sequence[StageSpec], *, deadline: float = 10.0,
                 allow_weaker_after_evidence: bool = False, auth: Authenticator | None = None,
                 adversary: str = "full", session: str = "s0") -> None:
        super().__init__(membership if isinstance(membership, Membership) else Membership(membership),
                         session)
        if not isinstance(inputs, Mapping) or set(inputs) != set(self.agents):
            raise ConfigurationError("inputs must map every member (and only members) to a value")
        for agent, value in inputs.items():
            if not isinstance(value, str) or not 0 < len(value) <= 256:
                raise ConfigurationError(f"input of {agent} must be a non-empty string, got {value!r}")
        if not isinstance(allow_weaker_after_evidence, bool):
            raise ConfigurationError("allow_weaker_after_evidence must be a bool")
        #: what a Byzantine member injects in exhaustive checks (:data:`.config.ADVERSARIES`)
        self.adversary_mode = validate_adversary(adversary)
        self.inputs = dict(inputs)
        self.stages: tuple[Stage, ...] = build_stages(self.membership, chain, deadline)
        self.deadline = float(deadline)
        self.allow_weaker_after_evidence = allow_weaker_after_evidence
        self.auth = auth if auth is not None else SymbolicAuthenticator(self.agents, seed=session)
        missing = [a for a in self.agents if a not in self.auth.principals]
        if missing:
            raise ConfigurationError(f"the authenticator holds no key for {missing}")
        self._signers: dict[AgentId, Signer] = {}
        self.candidates: tuple[str, ...] = tuple(sorted(set(self.inputs.values())))

    # ------------------------------------------------------------- arithmetic
    @property
    def last(self) -> int:
        return len(self.stages) - 1

    def units(self, stage: int, senders: Iterable[AgentId]) -> int:
        weights = self.stages[stage].weights
        index = self.membership.index
        return sum(weights[index(a)] for a in set(senders))

    def switch_quorum(self, stage: int) -> int:
        """Units of SWITCH votes that certify leaving ``stage`` for the next one."""
        return switch_quorum(self.stages[stage], self.stages[stage + 1])

    def guarantee_through(self, stage: int) -> str:
        """The guarantee of a value decided in ``stage``: the weakest of the stages used so far."""
        return weakest(self.stages[:stage + 1])

    def admissible(self, state: AdaptiveState, target: int) -> str | None:
        """Why this node must refuse to use ``target`` (as a fallback or a decision), or ``None``."""
        stage = self.stages[target]
        if not stage.precondition_holds(self.n):
            return f"precondition: crash bound {stage.crash_bound} is not below n/2 = {self.n / 2:g}"
        if not stage.byzantine_tolerant and state.evidence and not self.allow_weaker_after_evidence:
            return f"equivocation evidence against {', '.join(sorted(state.evidence))}"
        return None

    # ---------------------------------------------------------------- signing
    def signer(self, agent: AgentId) -> Signer:
        signer = self._signers.get(agent)
        if signer is None:
            signer = self._signers[agent] = self.auth.signer(agent)
        return signer

    def _sign(self, message: M) -> M:
        return self.signer(message.sender).sign(message)

    def _valid(self, message: Message) -> bool:
        return message.session == self.session and message.sender in self.membership \
            and self.auth.verify(message)

    def valid_lock(self, lock: Lock) -> bool:
        """A quorum of distinct members' valid signed votes for ``lock.value`` in ``lock.stage``."""
        if lock.stage > self.last:
            return False
        if not all(isinstance(v, Vote) and v.stage == lock.stage and v.value == lock.value and self._valid(v)
                   for v in lock.proof):
            return False
        return self.units(lock.stage, (v.sender for v in lock.proof)) >= self.stages[lock.stage].quorum

    def decision_evidence(self, stage: int) -> type[Message]:
        """What backs a decision in ``stage``: commits, or votes in the lock-free last stage."""
        return Vote if stage == self.last else Commit

    def valid_decision(self, stage: int, value: str, proof: Iterable[Commit | Vote]) -> bool:
        """A quorum of distinct members' valid signed commits (last stage: votes) for ``value``."""
        proof = tuple(proof)
        if stage > self.last:
            return False
        kind = self.decision_evidence(stage)
        if not all(type(c) is kind and c.stage == stage and c.value == value and self._valid(c)
                   for c in proof):
            return False
        return self.units(stage, (c.sender for c in proof)) >= self.stages[stage].quorum

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        state = self.state_type(stage=0, input=self.inputs[agent])
        state, effects = self._enter(agent, state)
        return Step(state, (SetTimer(DEADLINE_TIMER, self.deadline),) + effects)

    def on_message(self, agent: AgentId, state: AdaptiveState, message: Message) -> Step:
        if state.outcome is not None:
            return Step(state)
        if not self._valid(message):
            return Step(state, (Reject("bad-signature", message),))
        if isinstance(message, Alarm):
            return self._on_alarm(state, message)
        if isinstance(message, Decided):
            return self._on_decided(agent, state, message)
        assert isinstance(message, (Vote, Commit, Switch))
        if message.stage > self.last:
            return Step(state, (Reject("unknown-stage", message),))
        if message.stage < state.stage:
            return Step(state)  # a stage this node has left
        if message.stage > state.stage:
            return Step(state, (Defer(message),))  # used once this node gets there
        if isinstance(message, Vote):
            return self._on_vote(agent, state, message)
        if isinstance(message, Commit):
            return self._on_commit(agent, state, message)
        return self._on_switch(agent, state, message)

    def on_timer(self, agent: AgentId, state: AdaptiveState, timer: str) -> Step:
        if timer == DEADLINE_TIMER:
            return self._on_deadline(state)
        if state.outcome is not None or timer != stage_timer(state.stage) or state.stage >= self.last:
            return Step(state)
        if state.switched or state.refused:
            return Step(state)
        return self._trigger(agent, state)

    # ------------------------------------------------------------ one stage
    def _enter(self, agent: AgentId, state: AdaptiveState) -> tuple[AdaptiveState, tuple]:
        """Vote in the (new) current stage and arm its timer (the last stage runs to the deadline)."""
        vote = self._sign(Vote(session=self.session, sender=agent, stage=state.stage, value=state.input))
        state = msgspec.structs.replace(state, votes=frozenset({vote}))
        effects: tuple = (Broadcast(vote),)
        if state.stage < self.last:
            effects += (SetTimer(stage_timer(state.stage), self.stages[state.stage].budget),)
        state, more = self._maybe_lock(agent, state)
        return state, effects + more

    def _on_vote(self, agent: AgentId, state: AdaptiveState, vote: Vote) -> Step:
        if (state.committed or state.switched) and not self._watching(state):
            return Step(state)  # the vote can neither lock this node nor matter as evidence
        first = next((v for v in state.votes if v.sender == vote.sender), None)
        if first is not None:
            if first.value == vote.value or vote.sender in state.evidence:
                return Step(state)
            return self._equivocation(agent, state, first, vote)
        state = msgspec.structs.replace(state, votes=state.votes | {vote})
        state, effects = self._maybe_lock(agent, state)
        if self._hopeless(state):
            step = self._trigger(agent, state, "quorum-quality: no value can still reach the quorum")
            return Step(step.state, effects + step.effects)
        return Step(state, effects)

    def _hopeless(self, state: AdaptiveState) -> bool:
        """Whether this stage can no longer produce a lock here: even if every member not heard
        from voted the leading value, it would stay below the quorum (split votes). Then there is
        no point waiting for the stage timer: the quorum-quality trigger fires at once."""
        if state.stage >= self.last or state.committed or state.switched or state.refused \
                or state.outcome is not None:
            return False
        stage = self.stages[state.stage]
        heard = self.units(state.stage, (v.sender for v in state.votes))
        best = max(self.units(state.stage, (v.sender for v in state.votes if v.value == value))
                   for value in {v.value for v in state.votes})
        return best + (stage.total - heard) < stage.quorum

    def _watching(self, state: AdaptiveState) -> bool:
        """Whether equivocation evidence could still change what this node may do."""
        return not self.allow_weaker_after_evidence and any(
            not s.byzantine_tolerant for s in self.stages[state.stage + 1:])

    def _equivocation(self, agent: AgentId, state: AdaptiveState, first: Vote, second: Vote) -> Step:
        """Keep the first vote; record and broadcast the two signed votes as transferable evidence."""
        pair = tuple(sorted((first, second), key=lambda m: m.canonical()))
        if not self._watching(state):
            return Step(state, (Evidence("equivocation", second.sender, pair),))  # reported, not needed
        state = msgspec.structs.replace(state, evidence=state.evidence | {second.sender})
        alarm = self._sign(Alarm(session=self.session, sender=agent, first=pair[0], second=pair[1]))
        return Step(state, (Evidence("equivocation", second.sender, pair), Broadcast(alarm)))

    def _on_alarm(self, state: AdaptiveState, alarm: Alarm) -> Step:
        a, b = alarm.first, alarm.second
        if not (a.sender == b.sender and a.stage == b.stage and a.value != b.value
                and a.sender in self.membership and self._valid(a) and self._valid(b)):
            return Step(state, (Reject("invalid-evidence", alarm),))
        if a.sender in state.evidence:
            return Step(state)
        return Step(msgspec.structs.replace(state, evidence=state.evidence | {a.sender}))

    def _maybe_lock(self, agent: AgentId, state: AdaptiveState) -> tuple[AdaptiveState, tuple]:
        """On a quorum of votes for a value, lock on it and commit (never after voting SWITCH).

        The last stage has nothing to fall back to, so no lock is needed there: a quorum of
        votes decides, with the votes as the proof.
        """
        if state.committed or state.switched:
            return state, ()
        quorum = self.stages[state.stage].quorum
        for value in sorted({v.value for v in state.votes}):
            backing = tuple(sorted((v for v in state.votes if v.value == value), key=lambda m: m.sender))
            if self.units(state.stage, (v.sender for v in backing)) < quorum:
                continue
            if state.stage == self.last:
                state, effects = self._decide(state, state.stage, value, backing)
                return state, effects + (Broadcast(self._certificate(agent, state.stage, value, backing)),)
            commit = self._sign(Commit(session=self.session, sender=agent, stage=state.stage, value=value))
            state = msgspec.structs.replace(state, committed=True, lock=Lock(state.stage, value, backing),
                                            commits=state.commits | {commit})
            state, decided = self._maybe_decide(agent, state)
            return state, (Broadcast(commit),) + decided
        return state, ()

    def _certificate(self, agent: AgentId, stage: int, value: str, proof: tuple) -> Decided:
        return self._sign(Decided(session=self.session, sender=agent, stage=stage, value=value, proof=proof))

    def _on_commit(self, agent: AgentId, state: AdaptiveState, commit: Commit) -> Step:
        if any(c.sender == commit.sender for c in state.commits):
            return Step(state)
        state = msgspec.structs.replace(state, commits=state.commits | {commit})
        state, effects = self._maybe_decide(agent, state)
        return Step(state, effects)

    def _maybe_decide(self, agent: AgentId, state: AdaptiveState) -> tuple[AdaptiveState, tuple]:
        quorum = self.stages[state.stage].quorum
        for value in sorted({c.value for c in state.commits}):
            proof = tuple(sorted((c for c in state.commits if c.value == value), key=lambda m: m.sender))
            if self.units(state.stage, (c.sender for c in proof)) >= quorum:
                state, effects = self._decide(state, state.stage, value, proof)
                return state, effects + (Broadcast(self._certificate(agent, state.stage, value, proof)),)
        return state, ()

    def _on_decided(self, agent: AgentId, state: AdaptiveState, message: Decided) -> Step:
        if not self.valid_decision(message.stage, message.value, message.proof):
            return Step(state, (Reject("invalid-certificate", message),))
        if any(self.admissible(state, s) is not None for s in range(message.stage + 1)):
            return Step(state)  # a decision under a protocol this node may not accept
        state, effects = self._decide(state, message.stage, message.value, message.proof)
        return Step(state, effects)

    def _decide(self, state: AdaptiveState, stage: int, value: str, proof: tuple[Commit | Vote, ...]
                ) -> tuple[AdaptiveState, tuple]:
        outcome = Outcome(DECIDED, stage, value, self.stages[stage].kind, self.guarantee_through(stage), proof)
        state = self._concluded(state, outcome)
        return state, (Decide(value), CancelTimer(DEADLINE_TIMER), CancelTimer(stage_timer(state.stage)))

    def _on_deadline(self, state: AdaptiveState) -> Step:
        if state.outcome is not None:
            return Step(state)
        outcome = Outcome(NO_DECISION, state.stage, reason="deadline reached without a decision")
        return Step(self._concluded(state, outcome), (CancelTimer(stage_timer(state.stage)),))

    def _concluded(self, state: AdaptiveState, outcome: Outcome) -> AdaptiveState:
        """The final state: what the session's record needs (outcome, switch log, refusals,
        evidence), without the stage's working sets, which can no longer matter."""
        return self.state_type(stage=state.stage, input=state.input, lock=state.lock, evidence=state.evidence,
                               outcome=outcome, log=state.log, refusals=state.refusals)

    # ------------------------------------------------------------- fallback
    def trigger_cause(self, state: AdaptiveState) -> str:
        """Why the stage timer found this stage failing: silence, split votes, or just time."""
        stage = self.stages[state.stage]
        heard = self.units(state.stage, (v.sender for v in state.votes))
        if heard < stage.quorum:
            return f"unresponsive: heard {heard}/{stage.total} < quorum {stage.quorum}"
        best = max(self.units(state.stage, (v.sender for v in state.votes if v.value == value))
                   for value in {v.value for v in state.votes})
        if best < stage.quorum:
            return f"quorum-quality: best value {best}/{stage.total} < quorum {stage.quorum}"
        return f"time-pressure: no decision within {stage.budget:g}"

    def _trigger(self, agent: AgentId, state: AdaptiveState, cause: str | None = None) -> Step:
        """The stage timer fired undecided (or the stage became hopeless): vote SWITCH, unless
        the next stage is not admissible."""
        target = state.stage + 1
        reason = self.admissible(state, target)
        if reason is not None:
            refusal = Refusal(state.stage, target, reason)
            return Step(msgspec.structs.replace(state, refused=True, refusals=state.refusals + (refusal,)))
        cause = cause or self.trigger_cause(state)
        mine = next((v.value for v in state.votes if v.sender == agent), None)
        switch = self._sign(Switch(session=self.session, sender=agent, stage=state.stage, vote=mine,
                                   lock=state.lock, cause=cause))
        state = msgspec.structs.replace(state, switched=cause, switches=state.switches | {switch})
        state, effects = self._maybe_leave(agent, state)
        return Step(state, (Broadcast(switch),) + effects)

    def _on_switch(self, agent: AgentId, state: AdaptiveState, switch: Switch) -> Step:
        if state.stage >= self.last:
            return Step(state, (Reject("no-next-stage", switch),))
        if switch.lock is not None and not (switch.lock.stage <= switch.stage and self.valid_lock(switch.lock)):
            return Step(state, (Reject("invalid-lock", switch),))
        if any(s.sender == switch.sender for s in state.switches):
            return Step(state)
        state = msgspec.structs.replace(state, switches=state.switches | {switch})
        state, effects = self._maybe_leave(agent, state)
        return Step(state, effects)

    def _maybe_leave(self, agent: AgentId, state: AdaptiveState) -> tuple[AdaptiveState, tuple]:
        senders = tuple(sorted(s.sender for s in state.switches))
        if self.units(state.stage, senders) < self.switch_quorum(state.stage):
            return state, ()
        target = state.stage + 1
        reason = self.admissible(state, target)
        if reason is not None:
            if state.refused:
                return state, ()
            refusal = Refusal(state.stage, target, reason)
            return msgspec.structs.replace(state, refused=True, refusals=state.refusals + (refusal,)), ()
        lock = self.carried_lock(state)
        value = lock.value if lock is not None else state.input
        record = SwitchRecord(state.stage, target, state.switched or "peer-certificate", senders,
                              lock.value if lock is not None else None, len(state.evidence))
        left = state.stage
        state = self.state_type(stage=target, input=value, lock=lock, evidence=state.evidence,
                                log=state.log + (record,), refusals=state.refusals)
        state, effects = self._enter(agent, state)
        return state, (CancelTimer(stage_timer(left)),) + effects

    def carried_lock(self, state: AdaptiveState) -> Lock | None:
        """The highest lock among the certificate's reports and this node's own.

        Two locks on the same value in the same stage may carry different proofs; the tie is
        broken by the proof's canonical bytes, not by the iteration order of ``switches`` (a
        set, whose order follows per-process string hashing), so the carried lock, and with
        it the node's next state, is the same in every process.
        """
        return max(self.held_locks(state), key=lock_rank, default=None)

    def held_locks(self, state: AdaptiveState) -> list[Lock]:
        """The locks the certificate's reports carry, and this node's own."""
        locks = [s.lock for s in state.switches if s.lock is not None]
        if state.lock is not None:
            locks.append(state.lock)
        return locks

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """None: renaming members is not a symmetry of this machine's *values*, though it is of its runs.

        Members with equal inputs and weights (a0 and a1 in the standard check) behave alike,
        but a lock's proof, a decision's proof and a switch record keep signed votes and
        senders in tuples sorted by sender name, inside node states and inside signed
        messages (a SWITCH carries the lock). Renaming a0 and a1 turns the lock
        ``(vote a0, vote a1)`` into ``(vote a1, vote a0)``, while the permuted run locks on
        ``(vote a0, vote a1)``: the renamed world is not the one the run reaches, and a
        reduced search would store worlds outside the reachable set (the soundness audit in
        ``tests/test_adaptive.py`` finds this at the first delivery). Sets instead of tuples
        would fix the states, but a message cannot carry a set of messages (its canonical
        encoding sorts set members, and messages have no order).
        """
        return ()

    def sends_no_more(self, state: AdaptiveState) -> bool:
        """Once concluded (decided or no-decision): ``on_message`` returns at once, the deadline
        handler and every stage timer leave a concluded node as it is."""
        return state.outcome is not None

    def rename_signature(self, original: Message, renamed: Message) -> Message:
        """A renamed message signed by its new sender (see :func:`mabeam.protocols.resigned`)."""
        return resigned(self.auth, original, renamed)

    # ---------------------------------------------------------------- fairness
    def fairness_class(self, kind: str, agent: AgentId, detail: Any) -> Hashable | None:
        """Stage timers are optional triggers (:data:`~mabeam.core.protocol.UNFAIR`); deliveries and
        the deadline keep the default, each its own weakly fair action.

        Why: ``ADAPT-L1`` promises conclusion *by the deadline* (spec/adaptive.md, "Fairness"),
        so it must hold in runs where no stage ever times out before the deadline fires. The
        checker has no clock to order a stage's budget before the deadline; declaring the
        stage timers unfair is how the check refuses to lean on them.
        """
        if kind == "timer" and detail != DEADLINE_TIMER:
            return UNFAIR
        return None

    # ---------------------------------------------------------------- reports
    def describe_state(self, state: AdaptiveState) -> str:
        votes = ",".join(f"{v.sender}:{v.value}" for v in sorted(state.votes, key=lambda m: m.sender))
        parts = [f"stage={state.stage} input={state.input} votes[{votes}]"]
        if state.committed:
            parts.append(f"locked={state.lock.value if state.lock else None}")
        if state.switched:
            parts.append(f"switched({state.switched})")
        if state.refused:
            parts.append(f"refused({state.refusals[-1].reason})")
        if state.evidence:
            parts.append(f"evidence={sorted(state.evidence)}")
        if state.outcome is not None:
            parts.append(f"{state.outcome.kind} {state.outcome.value!r} in stage {state.outcome.stage}")
        return " ".join(parts)
