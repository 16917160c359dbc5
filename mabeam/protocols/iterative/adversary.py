"""What the model checker injects against approximate agreement.

A Byzantine member pushes honest agents apart: each round it sends a value just
below the public domain to one half of the others and one just above it to the
other half, and swaps the halves every round. An outsider injects an extreme
value into round 1, which screening must refuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, cast

from ...core import AgentId, Envelope, Protocol
from ...core.adversary import Adversary
from .messages import RoundValue
from .values import encode

if TYPE_CHECKING:
    from .machine import ApproximateAgreement


class IterativeAdversary(Adversary):
    """The equivocating extremes of a Byzantine member; an outsider's forged round-1 extreme."""

    def messages(self, protocol: Protocol, faulty: AgentId) -> Iterator[Envelope]:
        """Each round, a very low value to the lower half of the others and a very high one to the rest.

        The halves swap every round, so the adversary equivocates in every round and pushes
        the agents with the most extreme inputs apart. With ``equivocate_to_one`` the first
        recipient also gets the opposite extreme (it may then see either first).
        """
        agreement = cast("ApproximateAgreement", protocol)
        low, high = agreement.extremes()
        others = agreement.membership.others(faulty)
        for round_ in range(1, agreement.rounds + 1):
            for position, to in enumerate(others):
                lower_half = 2 * position < len(others) - 1
                first, second = (low, high) if lower_half == (round_ % 2 == 1) else (high, low)
                for value in (first, second) if agreement.equivocate_to_one and position == 0 else (first,):
                    yield Envelope(to, RoundValue(session=agreement.session, sender=faulty, round=round_,
                                                  value=encode(value)))

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        """An outsider injects an extreme value into round 1."""
        agreement = cast("ApproximateAgreement", protocol)
        low, _ = agreement.extremes()
        return [Envelope(a, RoundValue(session=agreement.session, sender="intruder", round=1,
                                       value=encode(low)))
                for a in agreement.agents]
