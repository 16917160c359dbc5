"""The group-certificate state machine: groups vote, forwarders certify, judges count groups.

Every group member signs one :class:`GroupVote` for its input, bound to
(session, level, group), and sends it to its group peers. A *forwarder* (the
representative, plus any deputies for redundant forwarding) that holds ``q_g``
matching votes from distinct members builds a :class:`GroupCertificate` and
sends it to every *judge* of the level above. A certificate's authority comes
from its signatures alone, never from whoever relays it: a judge counts a
group's vote only for a certificate with ``q_g`` distinct valid signatures by
that group's members on exactly the stated value, counts at most one value per
group (a second, conflicting certificate is evidence that the group is faulty
above), and decides once ``T`` groups certified the same value. Bare votes and
invalid certificates are rejected: the level above consumes only certified
outputs of the level below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from ...core import AgentId, Decide, Evidence, Membership, Message, Reject, Send, Step
from ...core.auth import Authenticator, SymbolicAuthenticator
from ...core.effects import decisions_of
from ...core.protocol import Protocol
from .. import classes_by, resigned
from .adversary import HierarchicalAdversary
from .config import Group, validate_layout, validate_upper
from .messages import LOWER_LEVEL, MESSAGE_TYPES, GroupCertificate, GroupVote, TopDecision, certificate_fault
from .properties import PROPERTIES
from .state import HierState


class Hierarchical(Protocol):
    """Groups certify a value; judges of the level above decide on ``T`` certified group votes."""

    name = "hierarchical"
    message_types = MESSAGE_TYPES
    properties = PROPERTIES
    adversary = HierarchicalAdversary()

    def __init__(self, groups: Sequence[Group], judges: Sequence[AgentId], inputs: Mapping[AgentId, str], *,
                 faulty_groups: int = 0, session: str = "s0", auth: Authenticator | None = None,
                 announce: bool = False) -> None:
        everyone = validate_layout(groups, judges, inputs)
        super().__init__(Membership(everyone), session)
        self.groups: tuple[Group, ...] = tuple(groups)
        self.judges: tuple[AgentId, ...] = tuple(judges)
        self.inputs: dict[AgentId, str] = {m: inputs[m] for g in self.groups for m in g.members}
        self.faulty_groups = faulty_groups
        self.threshold: int = self._threshold(len(self.groups), faulty_groups)
        self.auth: Authenticator = auth if auth is not None else SymbolicAuthenticator(everyone, seed=session)
        self._group_of: dict[AgentId, Group] = {m: g for g in self.groups for m in g.members}
        self._by_name: dict[str, Group] = {g.name: g for g in self.groups}
        self.candidates: tuple[str, ...] = tuple(sorted(set(self.inputs.values())))
        #: judges tell group members the top decision, and members decide it too (so a live run
        #: ends with every agent decided); off in the checked layouts, where it only adds states
        self.announce = bool(announce)

    # ----------------------------------------------------------- configuration
    def _threshold(self, groups: int, faulty_groups: int) -> int:
        return validate_upper(groups, faulty_groups)

    def group_of(self, agent: AgentId) -> Group | None:
        return self._group_of.get(agent)

    def group(self, name: str) -> Group | None:
        return self._by_name.get(name)

    def quorum(self, group: Group) -> int:
        """Signatures a certificate of ``group`` needs (mutants override)."""
        return group.quorum

    def role(self, agent: AgentId) -> str:
        if agent in self.judges:
            return "judge"
        group = self._group_of[agent]
        return "forwarder" if agent in group.forwarders else "member"

    def signed_vote(self, agent: AgentId, value: str) -> GroupVote:
        group = self._group_of[agent]
        vote = GroupVote(session=self.session, sender=agent, level=LOWER_LEVEL, group=group.name, value=value)
        return self.auth.signer(agent).sign(vote)

    def certificate(self, relayer: AgentId, group: Group, value: str,
                    votes: Iterable[GroupVote]) -> GroupCertificate:
        return GroupCertificate(session=self.session, sender=relayer, level=LOWER_LEVEL, group=group.name,
                                value=value, votes=tuple(votes))

    # ---------------------------------------------------------------- handlers
    def on_start(self, agent: AgentId) -> Step:
        role = self.role(agent)
        state = HierState(role)
        if role == "judge":
            return Step(state)
        group = self._group_of[agent]
        vote = self.signed_vote(agent, self.inputs[agent])
        sends = tuple(Send(peer, vote) for peer in group.members if peer != agent)
        if role == "member":
            return Step(state, sends)
        state, certify = self._collect(agent, state, vote)
        return Step(state, sends + certify)

    def on_message(self, agent: AgentId, state: HierState, message: Message) -> Step:
        if isinstance(message, TopDecision):
            if state.role == "judge" or message.sender not in self.judges or not self.announce:
                return Step(state, (Reject("not-an-announcement", message),))
            if state.decided is not None:
                return Step(state)
            return Step(msgspec.structs.replace(state, decided=message.value), (Decide(message.value),))
        if state.role == "judge":
            if isinstance(message, GroupCertificate):
                return self._announced(agent, self._judge(state, message))
            return Step(state, (Reject("uncertified-output", message),))
        if isinstance(message, GroupCertificate):
            return Step(state, (Reject("certificate-to-non-judge", message),))
        assert isinstance(message, GroupVote)
        reason = self._vote_fault(agent, message)
        if reason is not None:
            return Step(state, (Reject(reason, message),))
        if state.role == "member" or state.certified is not None or state.decided is not None:
            return Step(state)  # members do not collect; a forwarder certifies once
        for counted in state.votes:
            if counted.sender == message.sender:
                if counted.value == message.value or (message.sender, message.value) in state.refused:
                    return Step(state)
                state = msgspec.structs.replace(state, refused=state.refused | {(message.sender, message.value)})
                return Step(state, (Evidence("equivocation", message.sender, (counted, message)),))
        state, certify = self._collect(agent, state, message)
        return Step(state, certify)

    # ------------------------------------------------------------- forwarders
    def _vote_fault(self, agent: AgentId, vote: GroupVote) -> str | None:
        group = self._group_of[agent]
        if vote.level != LOWER_LEVEL or vote.group != group.name:
            return "wrong-group"
        if vote.sender not in group.members:
            return "not-a-group-member"
        if not self.auth.verify(vote):
            return "bad-signature"
        return None

    def _collect(self, agent: AgentId, state: HierState, vote: GroupVote) -> tuple[HierState, tuple[Send, ...]]:
        votes = tuple(sorted(state.votes + (vote,), key=lambda v: v.sender))
        state = msgspec.structs.replace(state, votes=votes)
        group = self._group_of[agent]
        matching = [v for v in votes if v.value == vote.value]
        if not self._certifiable(group, len(matching)):
            return state, ()
        cert = self.certificate(agent, group, vote.value, matching[:self.quorum(group)])
        state = msgspec.structs.replace(state, certified=vote.value)
        return state, tuple(Send(j, cert) for j in self.judges)

    def _certifiable(self, group: Group, matching: int) -> bool:
        return matching >= self.quorum(group)

    # ----------------------------------------------------------------- judges
    def certificate_fault(self, cert: GroupCertificate) -> str | None:
        """Why ``cert`` does not prove its group's vote, or ``None`` if it does."""
        group = self._by_name.get(cert.group)
        if group is None or cert.level != LOWER_LEVEL:
            return "unknown-group"
        return certificate_fault(cert, session=self.session, level=LOWER_LEVEL, members=group.members,
                                 quorum=self.quorum(group), auth=self.auth, matches=self._vote_matches)

    def _vote_matches(self, cert: GroupCertificate, vote: GroupVote) -> bool:
        return vote.value == cert.value

    def _judge(self, state: HierState, cert: GroupCertificate) -> Step:
        reason = self.certificate_fault(cert)
        if reason is not None:
            return Step(state, (Reject(f"invalid-certificate:{reason}", cert),))
        signers = tuple(sorted({v.sender for v in cert.votes}))
        return self._count(state, cert, signers)

    def _count(self, state: HierState, cert: GroupCertificate, signers: tuple[AgentId, ...]) -> Step:
        if state.decided is not None:
            return Step(state)
        counted = state.entry(cert.group)
        if counted is not None:
            if counted[1] == cert.value or (cert.group, cert.value) in state.refused:
                return Step(state)
            state = msgspec.structs.replace(state, refused=state.refused | {(cert.group, cert.value)})
            return Step(state, (Evidence("group-equivocation", f"group:{cert.group}", (cert,)),))
        tally = tuple(sorted(state.tally + ((cert.group, cert.value, signers),)))
        state = msgspec.structs.replace(state, tally=tally)
        return self._maybe_decide(state, cert.value)

    def _maybe_decide(self, state: HierState, value: str) -> Step:
        if sum(1 for e in state.tally if e[1] == value) < self.threshold:
            return Step(state)
        return Step(msgspec.structs.replace(state, decided=value), (Decide(value),))

    def _announced(self, judge: AgentId, step: Step) -> Step:
        """``step`` plus, if it decided and announcements are on, the decision sent to every member."""
        if not self.announce:
            return step
        told = [TopDecision(session=self.session, sender=judge, value=e.value) for e in decisions_of(step.effects)]
        sends = tuple(Send(m, t) for t in told for g in self.groups for m in g.members)
        return Step(step.state, step.effects + sends)

    # ------------------------------------------------------- state-space reductions
    def symmetry(self) -> tuple[frozenset[AgentId], ...]:
        """The judges are interchangeable; group members are not declared.

        A judge has no input and its state names groups and their signers, never a judge;
        forwarders send each certificate to every judge and the properties quantify over
        all of them. Members are not declared even when they share group, role and input:
        a forwarder keeps their votes, and passes them up in certificates, as tuples sorted
        by sender name, and renaming two members does not sort them again, so the renamed
        world would not be the one the permuted run reaches.
        """
        return classes_by(self.judges, lambda judge: "judge")

    def sends_no_more(self, state: HierState) -> bool:
        """A member after ``on_start`` (it only rejects, ignores, or decides an announcement);
        a judge unless announcements are on; a forwarder once it certified or decided (it
        certifies once and ignores every later vote). There are no timers."""
        if state.role == "member":
            return True
        if state.role == "judge":
            return not self.announce
        return state.certified is not None or state.decided is not None

    def rename_signature(self, original: Message, renamed: Message) -> Message:
        """A member's renamed vote signed by its new sender (see :func:`mabeam.protocols.resigned`)."""
        return resigned(self.auth, original, renamed)

    def describe_state(self, state: HierState) -> str:
        if state.role == "judge":
            tally = ", ".join(f"{g}:{v}" for g, v, _ in state.tally)
            return f"judge [{tally}]" + (f" decided={state.decided!r}" if state.decided else "")
        if state.role == "forwarder":
            votes = ", ".join(f"{v.sender}:{v.value}" for v in state.votes)
            return f"forwarder [{votes}]" + (f" certified={state.certified!r}" if state.certified else "")
        return "member"
