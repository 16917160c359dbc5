"""What the model checker injects against categorical refinement.

The fault model is crashes, so a faulty member sends nothing of its own; an
outsider pushes the last candidate with overwhelming confidence, which
screening must refuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from ...core import Envelope, Protocol
from ...core.adversary import Adversary
from .messages import Proposal

if TYPE_CHECKING:
    from .machine import CategoricalRefinement


class CategoricalAdversary(Adversary):
    """Crash faults (silent members) and an intruder's confident round-1 proposal."""

    def forged(self, protocol: Protocol) -> Iterable[Envelope]:
        refinement = cast("CategoricalRefinement", protocol)
        return [Envelope(a, Proposal(session=refinement.session, sender="intruder", round=1,
                                     answer=refinement.candidates[-1], confidence=(1000, 1)))
                for a in refinement.agents]
