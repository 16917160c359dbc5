"""Which search runs a check: this process, local worker processes, or Ray actors."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.errors import ConfigurationError
from ..core.observer import Observer
from ..core.properties import Property
from .model import ActorModel
from .results import CheckResult
from .search import Progress
from .search import check as check_here


def check(model: ActorModel, properties: Sequence[Property], *, progress: Progress | None = None,
          observers: Sequence[Observer] = (), workers: int = 1, ray: str | None = None) -> CheckResult:
    """Explore every reachable state (up to the configured bounds) and judge each property.

    ``workers`` > 1 partitions the search over that many local processes; ``ray``
    (an address, or ``"local"``) runs it as Ray actors (:mod:`.parallel`, :mod:`.ray_search`).
    Both give the one-process search's counts, verdicts and shortest traces.
    """
    if workers == 1 and ray is None:
        return check_here(model, properties, progress=progress, observers=observers)
    if observers:
        raise ConfigurationError("observers see one process's search: run them without --workers/--ray")
    if ray is not None:
        from .ray_search import ray_check  # Ray is an optional extra: imported only when asked for

        return ray_check(model, properties, workers, address=ray, progress=progress)
    from .parallel import parallel_check

    return parallel_check(model, properties, workers, progress=progress)
