"""Memory the search may use, measured the way the kernel counts it (resident set size).

A search must stop cleanly, with a partial report, before the machine's OOM
killer ends it: :class:`MemoryWatch` reads the process's resident memory every
so many expansions, empties the checker's caches when it nears the budget, and
says when the budget is reached. The default budget is a safe fraction of the
memory available when the search starts.
"""

from __future__ import annotations

import os
import re
import resource
import time

from ..core.errors import ConfigurationError

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20,
          "MIB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30, "T": 1 << 40, "TB": 1 << 40, "TIB": 1 << 40}
#: of the memory available at start, what the default budget takes
DEFAULT_FRACTION = 0.7
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def parse_size(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"1.5GiB"`` or a plain number of bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([A-Za-z]*)\s*", str(text))
    if not match or match.group(2).upper() not in _UNITS:
        raise ConfigurationError(f"not a memory size: {text!r} (use e.g. 2G, 512M or a number of bytes)")
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if value <= 0:
        raise ConfigurationError(f"a memory budget must be positive, got {text!r}")
    return value


def current_rss() -> int:
    """Resident memory of this process now, in bytes."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:  # not Linux: the peak is the best available figure
        return peak_rss()


def peak_rss() -> int:
    """The most resident memory this process has used, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def available_memory() -> int:
    """Memory the kernel says is available for new allocations (without swapping)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * _PAGE if hasattr(os, "sysconf") else 8 << 30


def default_budget() -> int:
    """A safe fraction of what is available now, on top of what this process already holds."""
    return current_rss() + int(available_memory() * DEFAULT_FRACTION)


class OutOfTime(Exception):
    """The search's time budget ran out (it stops with a partial report)."""


class MemoryWatch:
    """Checks resident memory against ``budget`` (and the clock against ``deadline``, a
    ``time.monotonic()`` value) every ``every`` calls to :meth:`tick`."""

    __slots__ = ("_count", "budget", "deadline", "every", "high_water")

    def __init__(self, budget: int | None, every: int = 4096, deadline: float | None = None) -> None:
        self.budget = default_budget() if budget is None else budget
        self.every = every
        self.deadline = deadline
        self.high_water = 0
        self._count = 0

    def tick(self) -> bool:
        """Cheap most of the time; every ``every`` calls, whether memory is over 90% of the budget
        (:class:`OutOfTime` past the deadline)."""
        self._count += 1
        if self._count < self.every:
            return False
        self._count = 0
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime
        return self.pressed()

    def pressed(self) -> bool:
        rss = current_rss()
        self.high_water = max(self.high_water, rss)
        return rss > 0.9 * self.budget

    def exceeded(self) -> bool:
        rss = current_rss()
        self.high_water = max(self.high_water, rss)
        return rss > self.budget
