"""State-space reductions: symmetry and partial-order reduction, and where each is sound.

Both are off unless asked for (``CheckConfig(symmetry=True)``, ``por=True``).
This module holds the one object the search consults: it canonicalises worlds
(symmetry) and prunes the actions explored from a world (partial-order
reduction), and it says which verdicts a reduction lets the search judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.properties import Property
from .model import Action, ActorModel, World
from .por import PartialOrder
from .symmetry import Symmetry


class Reduction:
    """What the search does to worlds and successor lists; the identity when nothing is asked."""

    def __init__(self, model: ActorModel, properties: Sequence[Property]) -> None:
        self.model = model
        self._symmetry = Symmetry(model) if model.config.symmetry else None
        self.symmetry = self._symmetry is not None and self._symmetry.active
        self._por = PartialOrder(model, properties) if model.config.por else None
        self.por = self._por is not None
        self._notes: list[str] = []

    @property
    def judges_liveness(self) -> bool:
        return not (self.symmetry or self.por)

    def liveness_note(self) -> str:
        return ("liveness is not judged under a state-space reduction: a fair cycle of the reduced graph need not "
                "be one of the system (TLC warns likewise for symmetry); check liveness without --symmetry/--por")

    def canonical(self, world: World) -> World:
        return self._symmetry.canonical(world) if self._symmetry is not None else world

    def ample(self, world: World, successors: list[tuple[World, int, Action, bool]], store: Any,
              level: set[int]) -> list[tuple[World, int, Action, bool]]:
        if self._por is None:
            return successors
        stored_as = (lambda succ, fp: self.model.fingerprint(self.canonical(succ))) if self.symmetry else None
        return self._por.ample(world, successors, store, level, stored_as)

    def notes(self) -> list[str]:
        notes = list(self._notes)
        if self._symmetry is not None:
            notes += self._symmetry.notes()
        if self._por is not None:
            notes += self._por.notes()
        return notes
