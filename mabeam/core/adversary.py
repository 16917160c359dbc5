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
from .messages import Envelope


class Adversary:
    """A protocol's model of Byzantine members and outsiders (default: silent).

    ``protocol`` is the :class:`~mabeam.core.protocol.Protocol` instance being
    checked; subclasses annotate it with their protocol's own class.
    """

    def messages(self, protocol: Any, faulty: AgentId) -> Iterable[Envelope]:
        """Every message ``faulty`` may inject, in flight from the start of a checked run."""
        return ()

    def forged(self, protocol: Any) -> Iterable[Envelope]:
        """Messages an outsider (not a member, holding no member's key) may inject."""
        return ()


#: the adversary of a protocol that declares none: Byzantine members stay silent
SILENT = Adversary()
