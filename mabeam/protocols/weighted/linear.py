"""Linear-communication weighted voting: votes go to one collector, which broadcasts a certificate.

All-to-all voting costs n(n-1) messages (39,800 at 200 agents). Here each member
sends its signed vote to the *collector* only; once the collector's counted
votes for ``v`` weigh more than the quorum it decides and broadcasts a signed
:class:`~.messages.Certificate` carrying those votes: 2(n-1) messages in all.

A receiver checks the certificate itself (every vote signed by its own member,
for the certified value, distinct members, more than the quorum by the
*configured* weights), then counts its votes exactly as if they had arrived one
by one, and decides by the same rule as all-to-all mode. So a Byzantine
collector can withhold a certificate (termination then needs an honest
collector, spec/weighted.md) but cannot forge one: it holds only its own key,
and two certificates for different values would need an honest member to have
signed both, as in the all-to-all quorum-intersection argument.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable, Mapping
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

import msgspec

from ...core import AgentId, Broadcast, ConfigurationError, Effect, Envelope, Evidence, Message, Protocol, Reject, Send
from ...core import Step as StepT
from ...core.adversary import Adversary
from ...core.auth import Authenticator, Signer
from .config import next_session
from .machine import WeightedVoting
from .messages import LINEAR_MESSAGE_TYPES, Certificate, SignedVote, Vote
from .state import PHASES, WeightedState, credit

if TYPE_CHECKING:
    from .config import Mode


_SENDER = attrgetter("sender")
#: how many certificate verdicts (and counting plans) one protocol object remembers
VERDICT_CACHE = 1024
R = TypeVar("R")
#: a certificate's votes by member position (``None``: not in it), their positions in its order, their weight units
_Plan = tuple[tuple[str | None, ...], tuple[int, ...], int]


def _remember(cache: dict[Any, R], key: Any, value: R) -> R:
    """Store ``value`` under ``key`` in a FIFO-bounded per-protocol cache (the oldest entry goes first)."""
    if len(cache) >= VERDICT_CACHE:
        del cache[next(iter(cache))]
    cache[key] = value
    return value


class LinearState(WeightedState, frozen=True):
    """A voter's view in linear mode: also the signed votes it counted (sorted by sender), which
    its certificate carries and its equivocation evidence quotes. Signatures are deterministic
    (Ed25519, and the checker's keyed digests), so they add no distinct states."""

    ballots: tuple[SignedVote, ...] = ()


class LinearAdversary(Adversary):
    """A Byzantine member signs any vote, to anyone; and for each candidate a certificate of
    every honest vote for it (votes are public once sent) plus its own, to every other member."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        voting = cast("LinearWeightedVoting", protocol)
        voting.membership.require(faulty)
        others = voting.membership.others(faulty)
        out = [Envelope(to, voting.signed_vote(faulty, value)) for value in voting.candidates for to in others]
        for value in voting.candidates:
            votes = tuple(cast(SignedVote, voting.signed_vote(a, value)) for a in voting.agents
                          if a == faulty or voting.inputs[a] == value)
            cert = voting.signer(faulty).sign(Certificate(session=voting.session, sender=faulty, value=value,
                                                          votes=votes))
            out += [Envelope(to, cert) for to in others]
        return out

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider's unsigned vote for the first candidate to every member (screening refuses it)."""
        voting = cast("LinearWeightedVoting", protocol)
        return [Envelope(a, SignedVote(session=voting.session, sender="intruder", value=voting.candidates[0]))
                for a in voting.agents]


class LinearWeightedVoting(WeightedVoting):
    """:class:`~.machine.WeightedVoting` with ``communication="linear"``: votes to ``collector``
    (default: the first member), which broadcasts a certificate; ``auth`` signs and checks votes."""

    message_types: ClassVar[tuple[type[Message], ...]] = LINEAR_MESSAGE_TYPES
    adversary = LinearAdversary()  # type: ignore[assignment]  # the base narrows it to its own adversary
    state_type: ClassVar[type[WeightedState]] = LinearState
    communication = "linear"

    def __init__(self, membership: Any, inputs: Mapping[AgentId, str], weights: Mapping[AgentId, object], *,
                 auth: Authenticator, collector: AgentId | None = None, mode: Mode = "byzantine",
                 threshold: object | None = None, max_faulty_weight: object = 0, session: str = "s0") -> None:
        super().__init__(membership, inputs, weights, mode=mode, threshold=threshold,
                         max_faulty_weight=max_faulty_weight, session=session)
        if not isinstance(auth, Authenticator):
            raise ConfigurationError(f"linear mode needs an Authenticator to sign votes, got {type(auth).__name__}")
        unknown = [a for a in self.agents if a not in auth.principals]
        if unknown:
            raise ConfigurationError(f"the authenticator knows no key for members {unknown}")
        self.auth = auth
        self.collector: AgentId = self.agents[0] if collector is None else collector
        self.membership.require(self.collector)
        self._signers: dict[AgentId, Signer] = {}
        #: certificate -> problem (``None``: sound): a pure function of the certificate and this
        #: configuration, so the receivers of one process check a broadcast certificate once (FIFO-bounded)
        self._verdicts: dict[Certificate, str | None] = {}
        self._plans: dict[Certificate, _Plan] = {}
        #: the last certificate judged and planned, by identity (hashing a certificate hashes every vote)
        self._last_verdict: tuple[Certificate, str | None] | None = None
        self._last_plan: tuple[Certificate, _Plan] | None = None

    def next_instance(self, weights: Mapping[AgentId, object], *, inputs: Mapping[AgentId, str] | None = None,
                      max_faulty_weight: object | None = None, session: str | None = None) -> WeightedVoting:
        """As in all-to-all mode, keeping the authenticator and the collector."""
        new_session = next_session(self.session) if session is None else session
        if new_session == self.session:
            raise ConfigurationError("the next instance needs a session id different from this one")
        return type(self)(self.membership, self.inputs if inputs is None else inputs, weights, auth=self.auth,
                          collector=self.collector, mode=self.mode, threshold=self.threshold,
                          max_faulty_weight=self.max_faulty_weight if max_faulty_weight is None
                          else max_faulty_weight, session=new_session)

    # ---------------------------------------------------------------- signing
    def signer(self, agent: AgentId) -> Signer:
        """``agent``'s own key (a node only ever uses its own; the adversary only the faulty one's)."""
        if agent not in self._signers:
            self._signers[agent] = self.auth.signer(agent)
        return self._signers[agent]

    def signed_vote(self, sender: AgentId, value: str) -> Vote:
        return self.signer(sender).sign(SignedVote(session=self.session, sender=sender, value=value))

    def certificate(self, agent: AgentId, state: LinearState) -> Certificate:
        """The collector's proof for its decision: the counted signed votes for the decided value."""
        votes = tuple(b for b in state.ballots if b.value == state.decided)
        return self.signer(agent).sign(Certificate(session=self.session, sender=agent,
                                                   value=cast(str, state.decided), votes=votes))

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> StepT:
        value = self.inputs[agent]
        own = self.signed_vote(agent, value)
        state = msgspec.structs.replace(self._initial_state(agent, value), ballots=(own,))
        state, decided = self._maybe_decide(state, value)
        if agent != self.collector:
            return StepT(state, (Send(self.collector, own),) + decided)
        return StepT(state, decided + self._announce(agent, cast(LinearState, state)))

    def on_message(self, agent: AgentId, state: WeightedState, message: Message) -> StepT:
        if state.phase == "decided":
            return StepT(state)  # nothing can change a decision: no signature worth checking
        if not self.auth.verify(message):
            return StepT(state, (Reject("bad-signature", message),))
        if isinstance(message, Certificate):
            return self.on_certificate(agent, cast(LinearState, state), message)
        step = super().on_message(agent, state, message)
        if state.phase != "decided" and step.state.phase == "decided":
            return StepT(step.state, step.effects + self._announce(agent, cast(LinearState, step.state)))
        return step

    def on_certificate(self, agent: AgentId, state: LinearState, cert: Certificate) -> StepT:
        if state.phase == "decided":
            return StepT(state)
        problem = self.certificate_problem(cert)
        if problem is not None:
            return StepT(state, (Reject(problem, cert),))
        counted, effects = self.count_certificate(state, cert)
        after, decided = self._maybe_decide(counted, cert.value)
        return StepT(after, effects + decided + (self._announce(agent, cast(LinearState, after)) if decided else ()))

    def _announce(self, agent: AgentId, state: LinearState) -> tuple[Effect, ...]:
        """The collector broadcasts its certificate once, when it decides (on votes or on a certificate
        a Byzantine member relayed: either way the others need one)."""
        if agent != self.collector or state.decided is None:
            return ()
        return (Broadcast(self.certificate(agent, state)),)

    # ------------------------------------------------------- rules mutants change
    def certificate_problem(self, cert: Certificate) -> str | None:
        """Why ``cert`` does not prove its value was backed, or ``None`` (memoised, see ``_verdicts``)."""
        last = self._last_verdict
        if last is not None and last[0] is cert:  # a broadcast's receivers share one object: no re-hashing
            return last[1]
        verdicts = self._verdicts
        verdict = verdicts[cert] if cert in verdicts else _remember(verdicts, cert, self._certificate_problem(cert))
        self._last_verdict = (cert, verdict)
        return verdict

    def _certificate_problem(self, cert: Certificate) -> str | None:
        senders = [v.sender for v in cert.votes]
        if len(set(senders)) != len(senders) or not all(s in self.membership for s in senders):
            return "bad-certificate-senders"
        if not all(type(v) is SignedVote and v.session == self.session and v.value == cert.value
                   and self.auth.verify(v) for v in cert.votes):
            return "bad-certificate-vote"
        index = self.membership.index
        if not self._backed(sum(self.weight_units[index(s)] for s in senders)):
            return "certificate-below-quorum"
        return None

    def count_certificate(self, state: LinearState,
                          cert: Certificate) -> tuple[LinearState, tuple[Effect, ...]]:
        """Count a checked certificate's votes as if each had arrived: first votes are counted,
        repeats ignored, conflicting ones refused as equivocation evidence.

        Why from a per-certificate plan: every receiver of one broadcast counts the same votes, and
        a receiver has counted few of its own (its ``ballots``), so only those are looked at one by one.
        """
        template, positions, total = self._certificate_plan(cert)
        value, index, units = cert.value, self.membership.index, self.weight_units
        votes = list(template)
        refused = state.refused
        evidence: list[Effect] = []
        added = total
        repeated: set[int] = set()
        for ballot in state.ballots:  # the votes counted already (sorted by sender, as the certificate's)
            position = index(ballot.sender)
            counted = state.votes[position]
            votes[position] = counted  # the first vote stays counted
            if template[position] is None:
                continue
            repeated.add(position)
            added -= units[position]
            if counted != value and (ballot.sender, value) not in refused:
                PHASES.check(state.phase, "equivocate", "voting")
                refused = refused | {(ballot.sender, value)}
                vote = cert.votes[positions.index(position)]
                evidence.append(Evidence("equivocation", ballot.sender, (ballot, vote)))
        fresh = list(cert.votes)
        for at in sorted((positions.index(p) for p in repeated), reverse=True):
            del fresh[at]  # a repeat: the vote counted first stays in ``ballots``
        if not fresh:
            return msgspec.structs.replace(state, refused=refused), tuple(evidence)
        PHASES.check(state.phase, "count", "voting")
        for ballot in state.ballots:  # both sorted by sender, no sender in both: merge the few ballots in
            insort(fresh, ballot, key=_SENDER)
        state = msgspec.structs.replace(state, votes=tuple(votes), support=credit(state.support, value, added),
                                        refused=refused, ballots=tuple(fresh))
        return state, tuple(evidence)

    def _certificate_plan(self, cert: Certificate) -> _Plan:
        """The votes a certificate counts, by member position (``None``: not in it), its voters'
        positions in its order, and their total weight units (memoised like the verdicts)."""
        last = self._last_plan
        if last is not None and last[0] is cert:
            return last[1]
        plans = self._plans
        plan = plans.get(cert)
        if plan is None:
            index, units = self.membership.index, self.weight_units
            positions = tuple(index(v.sender) for v in cert.votes)
            template: list[str | None] = [None] * len(self.agents)
            for position in positions:
                template[position] = cert.value
            plan = _remember(plans, cert, (tuple(template), positions, sum(units[p] for p in positions)))
        self._last_plan = (cert, plan)
        return plan

    # ------------------------------------------------- all-to-all hooks, linear form
    def _count(self, state: WeightedState, position: int, vote: Vote) -> WeightedState:
        state = super()._count(state, position, vote)
        linear = cast(LinearState, state)
        ballots = list(linear.ballots)
        insort(ballots, cast(SignedVote, vote), key=_SENDER)  # kept sorted: no re-sort per vote
        return msgspec.structs.replace(linear, ballots=tuple(ballots))

    def _equivocation(self, state: WeightedState, counted: str, vote: Vote) -> StepT:
        """Keep the first vote; the evidence quotes the signed vote counted, not a re-signed one."""
        if (vote.sender, vote.value) in state.refused:
            return StepT(state)
        PHASES.check(state.phase, "equivocate", "voting")
        first = next(b for b in cast(LinearState, state).ballots if b.sender == vote.sender)
        state = msgspec.structs.replace(state, refused=state.refused | {(vote.sender, vote.value)})
        return StepT(state, (Evidence("equivocation", vote.sender, (first, vote)),))

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """None: the collector is distinguished and the ballots carry signed sender names."""
        return ()

    def sends_no_more(self, state: Any) -> bool:
        """Once decided: a member sends only at start, the collector once more when it decides
        (a state does not say whose it is, so an undecided one may still send)."""
        return state is not None and state.phase == "decided"
