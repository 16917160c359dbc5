"""What a Byzantine member or representative of a hierarchy may inject in the model checker, and what an
outsider forges.

Moved from the machine unchanged (the same envelopes in the same order, so the
checked state spaces are too). It reads the machine's own ``quorum`` rule, so
a mutant that changes the quorum also changes the certificates tried here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from ...core import AgentId, Envelope, Message, Protocol
from ...core.adversary import Adversary
from .messages import LOWER_LEVEL, GroupCertificate, GroupVote

if TYPE_CHECKING:
    from .machine import Hierarchical


class HierarchicalAdversary(Adversary):
    """A Byzantine agent signs only with its own key; an outsider with none."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterable[Envelope]:
        """What a Byzantine member or representative can send, holding only its own key.

        It signs votes for any candidate as itself, and relays certificates built from its
        own votes and the votes group members sign on their inputs (which every group
        member receives; a colluding Byzantine member may also sign its input): a valid
        quorum, the same quorum under an altered value, its own signature only, or its own
        signature repeated; and it sends bare votes upward as if they were the group's output.
        """
        p = cast("Hierarchical", protocol)
        p.membership.require(faulty)
        group = p.group_of(faulty)
        if group is None:
            return []
        out: list[Envelope] = []
        q = p.quorum(group)
        for value in p.candidates:
            own = p.signed_vote(faulty, value)
            out += [Envelope(peer, own) for peer in group.members if peer != faulty]
            out += [Envelope(j, own) for j in p.judges]
            backing = sorted([own] + [p.signed_vote(m, p.inputs[m]) for m in group.members
                                      if m != faulty and p.inputs[m] == value], key=lambda v: v.sender)
            certs = [p.certificate(faulty, group, value, (own,))]
            if q > 1:
                certs.append(p.certificate(faulty, group, value, (own,) * q))
            if len(backing) >= q:
                certs.append(p.certificate(faulty, group, value, backing[:q]))
                certs += [p.certificate(faulty, group, other, backing[:q])
                          for other in p.candidates if other != value]
            out += [Envelope(j, c) for c in dict.fromkeys(certs) for j in p.judges]
        return out

    def derived(self, protocol: Protocol, faulty: AgentId, knowledge: frozenset[Message]) -> Iterable[Envelope]:
        """The static messages plus what ``faulty`` builds from the votes in ``knowledge`` (module docstring)."""
        p = cast("Hierarchical", protocol)
        out: dict[Envelope, None] = dict.fromkeys(self.messages(protocol, faulty))
        group = p.group_of(faulty)
        if group is None:
            return list(out)
        votes: dict[GroupVote, None] = {}
        for m in sorted(knowledge, key=Message.canonical):
            if isinstance(m, GroupVote):
                votes[m] = None
            elif isinstance(m, GroupCertificate):
                votes.update(dict.fromkeys(m.votes))
        learned = [v for v in votes if v.sender != faulty]
        q = p.quorum(group)
        built: list[Message] = list(learned)
        for value in p.candidates:
            own = p.signed_vote(faulty, value)
            mine = [v for v in learned if v.group == group.name and v.value == value]
            foreign = [v for v in learned if v.group != group.name and v.value == value]
            backing = sorted({v.sender: v for v in [own, *mine]}.values(), key=lambda v: v.sender)[:q]
            if len(backing) >= q:
                built += [p.certificate(faulty, group, other, backing) for other in p.candidates]
            if foreign:
                built.append(p.certificate(faulty, group, value, sorted([own, *foreign], key=lambda v: v.sender)[:q]))
        for v in learned:
            built += [v.replace(level=v.level + 1), v.replace(session=p.session + "/replayed")]
        for m in sorted(dict.fromkeys(built), key=Message.canonical):
            audience = p.judges if isinstance(m, GroupCertificate) else [*group.members, *p.judges]
            for to in audience:
                if to != faulty and to != m.sender:
                    out[Envelope(to, m)] = None
        return list(out)

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider relays a certificate whose votes carry made-up signatures."""
        p = cast("Hierarchical", protocol)
        group = p.groups[0]
        votes = tuple(GroupVote(session=p.session, sender=m, level=LOWER_LEVEL, group=group.name,
                                value=p.candidates[0], signature=b"\x00" * 16)
                      for m in group.members[:p.quorum(group)])
        cert = GroupCertificate(session=p.session, sender="intruder", level=LOWER_LEVEL, group=group.name,
                                value=p.candidates[0], votes=votes)
        return [Envelope(j, cert) for j in p.judges]
