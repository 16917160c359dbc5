"""The only source of chance in mabeam: explicit, seeded, splittable.

Protocols never touch global randomness; drivers hand out :class:`SeededRandom`
streams derived from one root seed, so the same seed gives the same trace.
"""

from __future__ import annotations

import hashlib
import random


class SeededRandom(random.Random):
    """A ``random.Random`` whose child streams are derived by name, not by call order."""

    def __init__(self, seed: int | str = 0) -> None:
        self.root_seed = seed
        super().__init__(_stable_int(f"mabeam:{seed}"))

    def derive(self, label: str) -> SeededRandom:
        """An independent stream for ``label``; independent of how much this one was used."""
        return SeededRandom(f"{self.root_seed}/{label}")


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
