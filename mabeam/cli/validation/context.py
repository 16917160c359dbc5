"""What every measurement task is given: the mode, where to write, where the examples are, the clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: wall-clock budget of the whole run, seconds (``--quick`` must stay well under 10 minutes on 2 cores)
BUDGET = {"quick": 8 * 60.0, "full": 60 * 60.0}


@dataclass
class Context:
    quick: bool
    out: Path
    examples: Path | None  # a checkout's examples/ directory, if there is one
    stress_minutes: float
    quiet: bool = False
    started: float = field(default_factory=time.monotonic)
    figures: dict[str, Any] = field(default_factory=dict)  # task name -> what it measured

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"

    @property
    def root(self) -> Path | None:
        """The checkout the examples belong to (for docs and code-quality checks)."""
        return None if self.examples is None else self.examples.resolve().parent

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        return BUDGET[self.mode] - self.elapsed()

    def pick(self, quick: Any, full: Any) -> Any:
        return quick if self.quick else full
