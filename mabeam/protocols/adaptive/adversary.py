"""What a Byzantine member of an adaptive session may inject in the model checker, and what an outsider forges.

Moved from the machine unchanged (the same envelopes in the same order, so the
checked state spaces are too). How much a faulty member says is the
instance's adversary mode (:data:`.config.ADVERSARIES`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from ...core import AgentId, Envelope, Message, Protocol
from ...core.adversary import Adversary
from .messages import Commit, Switch, Vote

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

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider's vote, and a vote under a member's name with a made-up signature."""
        p = cast("AdaptiveCoordination", protocol)
        victim = p.agents[0]
        forged = Vote(session=p.session, sender=victim, stage=0, value=p.candidates[0],
                      signature=b"\x00" * 16)
        outsider = Vote(session=p.session, sender="intruder", stage=0, value=p.candidates[0])
        return [Envelope(a, m) for a in p.agents for m in (forged, outsider) if a != victim or m is outsider]
