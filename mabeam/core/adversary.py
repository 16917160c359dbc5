"""What a faulty agent may inject in the model checker.

The checker runs no honest code for a Byzantine member. Instead the protocol's
:class:`Adversary` (its ``adversary.py`` module) says which messages that
member could put on the wire: anything it can sign with *its own* key, to
anyone, in any order, or nothing. An outsider (the checker's ``intruder``
option) holds no member's key at all; what it forges must be refused by
screening. The base class is a silent adversary and an outsider with nothing
to say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .identity import AgentId
from .messages import Envelope, Message


class Adversary:
    """A protocol's model of Byzantine members and outsiders (default: silent).

    ``protocol`` is the :class:`~mabeam.core.protocol.Protocol` instance being
    checked; subclasses annotate it with their protocol's own class.
    """

    def messages(self, protocol: Any, faulty: AgentId) -> Iterable[Envelope]:
        """Every message ``faulty`` may inject, in flight from the start of a checked run."""
        return ()

    def derived(self, protocol: Any, faulty: AgentId, knowledge: frozenset[Message]) -> Iterable[Envelope]:
        """What ``faulty`` may send once its coalition has learned ``knowledge`` (the messages sent to
        any Byzantine agent): the checker's Dolev-Yao adversary.

        The default: everything :meth:`messages` allows, plus every learned message
        forwarded to every other member (a replay; a valid signature stays its signer's).
        A protocol adds what its messages let an attacker assemble from learned parts
        (certificates, NEW-VIEWs, switch certificates) and relabel (another view,
        session or kind: a signature that binds them makes such a copy worthless).
        """
        yield from self.messages(protocol, faulty)
        for message in sorted(knowledge, key=Message.canonical):
            for to in protocol.agents:
                if to != faulty and to != message.sender:
                    yield Envelope(to, message)

    def forged(self, protocol: Any) -> Iterable[Envelope]:
        """Messages an outsider (not a member, holding no member's key) may inject."""
        return ()


#: the adversary of a protocol that declares none: Byzantine members stay silent
SILENT = Adversary()
