"""What the model checker injects against majority voting.

The fault model is crashes, so a faulty member sends nothing of its own; an
outsider forges a vote for a value no member proposed, which screening must
refuse.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...core import Envelope, Protocol
from ...core.adversary import Adversary
from .messages import Vote


class MajorityAdversary(Adversary):
    """Crash faults (silent members) and an outsider 'intruder' voting 'forged'."""

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        return [Envelope(a, Vote(session=protocol.session, sender="intruder", value="forged"))
                for a in protocol.agents]
