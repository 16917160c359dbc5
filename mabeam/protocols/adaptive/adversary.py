"""What a Byzantine member of an adaptive session may inject in the model checker, and what an outsider forges.

:meth:`AdaptiveAdversary.messages` is the static adversary, moved from the machine
unchanged (the same envelopes in the same order, so the checked state spaces are
too). How much a faulty member says is the instance's adversary mode
(:data:`.config.ADVERSARIES`).

:meth:`AdaptiveAdversary.derived` is the Dolev-Yao adversary (``--adversary
dolev-yao``): besides the static messages, the coalition sends what it builds from
the signed messages it has learned (everything sent to a Byzantine member, and the
votes and commits nested in locks, decisions and alarms):

- **forward** every learned signed message of another member, nested ones included;
- **locks**: for a (stage, value) whose learned votes of others plus its own reach the
  stage quorum, a SWITCH in every stage from that one on reporting that lock (an
  honest report it could make), and the same lock cut below the quorum (receivers must
  refuse it: ``invalid-lock``);
- **decisions**: learned commits (votes, in the lock-free last stage) of others plus its
  own that reach the quorum, sent as its DECIDED;
- **alarms**: two learned conflicting votes of one member in one stage;
- **relabelings** that keep the signature, which receivers must refuse: a learned vote
  as a commit and back (the same stage and value), a vote or commit moved to every other
  stage, and any learned message replayed into another session.

Everything is deduplicated and bounded by the chain and the candidates, so it stays a
small finite set per knowledge set.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from ...core import AgentId, Envelope, Message, Protocol
from ...core.adversary import Adversary
from .messages import Alarm, Commit, Decided, Lock, Switch, Vote

if TYPE_CHECKING:
    from .machine import AdaptiveCoordination


class AdaptiveAdversary(Adversary):
    """A Byzantine member signs only with its own key; an outsider with none."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        """Every message the faulty member can sign up front: votes, commits and SWITCH votes
        (without a lock: it cannot forge the quorum of honest votes a lock needs) for every
        candidate in every stage; votes for two values are an equivocation."""
        p = cast("AdaptiveCoordination", protocol)
        p.membership.require(faulty)
        if p.adversary_mode == "silent":
            return []
        out: list[Message] = []
        first, other = p.candidates[0], p.candidates[-1]
        for stage in range(len(p.stages)):
            if p.adversary_mode == "override":
                # help the first candidate win stage 0 (and equivocate there), then push the other
                wanted = (first, other) if stage == 0 else (other,)
                out += [Vote(session=p.session, sender=faulty, stage=stage, value=v) for v in wanted]
                out.append(Commit(session=p.session, sender=faulty, stage=stage,
                                  value=first if stage == 0 else other))
                if stage < p.last:
                    out.append(Switch(session=p.session, sender=faulty, stage=stage, vote=other))
                continue
            for value in p.candidates:
                out.append(Vote(session=p.session, sender=faulty, stage=stage, value=value))
                out.append(Commit(session=p.session, sender=faulty, stage=stage, value=value))
                if stage < p.last:
                    out.append(Switch(session=p.session, sender=faulty, stage=stage, vote=value))
        signed = [p.signer(m.sender).sign(m) for m in out]
        return [Envelope(to, m) for m in signed for to in p.membership.others(faulty)]

    def derived(self, protocol: Protocol, faulty: AgentId, knowledge: frozenset[Message]) -> Iterable[Envelope]:
        """The static messages plus everything ``faulty`` builds from ``knowledge`` (module docstring)."""
        p = cast("AdaptiveCoordination", protocol)
        if p.adversary_mode == "silent":
            return []
        out: dict[Envelope, None] = dict.fromkeys(self.messages(protocol, faulty))
        parts = _parts(knowledge)
        others = [m for m in parts if m.sender != faulty]
        built: list[Message] = list(others)
        built += _switches(p, faulty, others)
        built += _decisions(p, faulty, others)
        built += _alarms(p, faulty, others)
        built += _relabeled(p, others)
        for m in sorted(dict.fromkeys(built), key=Message.canonical):
            for to in p.membership.others(faulty):
                if to != m.sender:
                    out[Envelope(to, m)] = None
        return list(out)

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider's vote, and a vote under a member's name with a made-up signature."""
        p = cast("AdaptiveCoordination", protocol)
        victim = p.agents[0]
        forged = Vote(session=p.session, sender=victim, stage=0, value=p.candidates[0],
                      signature=b"\x00" * 16)
        outsider = Vote(session=p.session, sender="intruder", stage=0, value=p.candidates[0])
        return [Envelope(a, m) for a in p.agents for m in (forged, outsider) if a != victim or m is outsider]


# ------------------------------------------------------------ Dolev-Yao derivations
def _parts(knowledge: Iterable[Message]) -> list[Message]:
    """Every signed message in ``knowledge`` and nested in it (canonical order, no duplicates)."""
    found: dict[Message, None] = {}
    for m in sorted(knowledge, key=Message.canonical):
        found[m] = None
        if isinstance(m, Switch) and m.lock is not None:
            found.update(dict.fromkeys(m.lock.proof))
        elif isinstance(m, Decided):
            found.update(dict.fromkeys(m.proof))
        elif isinstance(m, Alarm):
            found.update(dict.fromkeys((m.first, m.second)))
    return sorted(found, key=Message.canonical)


def _by_slot(p: AdaptiveCoordination, kind: type, learned: list[Message]) -> dict[tuple[int, str], list[Any]]:
    """Learned valid messages of ``kind`` per (stage, value), one per sender, sorted by sender."""
    slots: dict[tuple[int, str], dict[AgentId, Any]] = {}
    for m in learned:
        if type(m) is kind and m.session == p.session and p.auth.verify(m):
            msg = cast(Any, m)
            slots.setdefault((msg.stage, msg.value), {}).setdefault(m.sender, m)
    return {slot: [by[s] for s in sorted(by)] for slot, by in sorted(slots.items())}


def _quorum_of(p: AdaptiveCoordination, stage: int, own: Message, learned: list[Any]) -> tuple[Any, ...] | None:
    """Its own message plus the fewest learned ones (in sender order) that reach ``stage``'s quorum."""
    chosen = [own]
    for m in learned:
        if p.units(stage, (c.sender for c in chosen)) >= p.stages[stage].quorum:
            break
        chosen.append(m)
    if p.units(stage, (c.sender for c in chosen)) < p.stages[stage].quorum:
        return None
    return tuple(sorted(chosen, key=lambda c: c.sender))


def _switches(p: AdaptiveCoordination, faulty: AgentId, learned: list[Message]) -> Iterator[Switch]:
    """Its SWITCHes reporting every lock it can assemble, and the same lock cut below the quorum."""
    for (stage, value), votes in _by_slot(p, Vote, learned).items():
        if stage >= p.last:
            continue
        own = p.signer(faulty).sign(Vote(session=p.session, sender=faulty, stage=stage, value=value))
        proof = _quorum_of(p, stage, own, votes)
        if proof is None:
            continue
        short = list(proof)
        while short and p.units(stage, (v.sender for v in short)) >= p.stages[stage].quorum:
            short.pop()
        locks = [Lock(stage, value, proof)] + ([Lock(stage, value, tuple(short))] if short else [])
        for lock in locks:
            for at in range(stage, p.last):
                yield p.signer(faulty).sign(Switch(session=p.session, sender=faulty, stage=at, vote=value,
                                                   lock=lock))


def _decisions(p: AdaptiveCoordination, faulty: AgentId, learned: list[Message]) -> Iterator[Decided]:
    """Its DECIDED for every (stage, value) whose learned decision evidence plus its own reach the quorum."""
    for kind in (Commit, Vote):
        for (stage, value), evidence in _by_slot(p, kind, learned).items():
            if stage > p.last or p.decision_evidence(stage) is not kind:
                continue
            own = p.signer(faulty).sign(kind(session=p.session, sender=faulty, stage=stage, value=value))
            proof = _quorum_of(p, stage, own, evidence)
            if proof is not None:
                yield p.signer(faulty).sign(Decided(session=p.session, sender=faulty, stage=stage, value=value,
                                                    proof=proof))


def _alarms(p: AdaptiveCoordination, faulty: AgentId, learned: list[Message]) -> Iterator[Alarm]:
    """Equivocation evidence from two learned conflicting votes of one member in one stage."""
    votes: dict[tuple[AgentId, int], list[Vote]] = {}
    for m in learned:
        if isinstance(m, Vote):
            votes.setdefault((m.sender, m.stage), []).append(m)
    for (_sender, _stage), pair in sorted(votes.items()):
        if len(pair) >= 2:
            first, second = sorted(pair, key=Message.canonical)[:2]
            yield p.signer(faulty).sign(Alarm(session=p.session, sender=faulty, first=first, second=second))


def _relabeled(p: AdaptiveCoordination, learned: list[Message]) -> Iterator[Message]:
    """Learned signed messages moved to another kind, stage or session, signature kept."""
    for m in learned:
        yield m.replace(session=p.session + "/replayed")
        if isinstance(m, (Vote, Commit)):
            other = Commit if isinstance(m, Vote) else Vote
            yield other(session=m.session, sender=m.sender, stage=m.stage, value=m.value, signature=m.signature)
            yield from (m.replace(stage=s) for s in range(len(p.stages)) if s != m.stage)
