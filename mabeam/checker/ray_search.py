"""The partitioned search as Ray actors (``mabeam check ... --ray [ADDRESS]``).

Each actor builds the model from the protocol and its :class:`CheckConfig`
(components are content-addressed, so every actor's fingerprints agree with the
coordinator's) and holds one :class:`~.partition.PartitionWorker`. A level's
batches go from the expanding actor to the owning actor as Ray objects: the
coordinator hands over references, never the bytes. Ray is an optional extra
(``pip install "mabeam[ray]"``); without it, asking for Ray is a clear error.

With no address (or ``"local"``), Ray is started on this machine with one CPU
per worker and shut down afterwards; with an address (``"auto"`` or
``"ray://host:10001"``) the search joins that cluster and leaves it running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ..core.errors import ConfigurationError
from ..core.properties import Property
from .model import ActorModel
from .ownership import Ownership
from .parallel import Pool, coordinate
from .partition import LevelReport, PartitionWorker
from .results import CheckResult
from .search import OutOfMemory, OutOfTime, Progress

__all__ = ["RayPool", "ray_check", "ray_module"]


def ray_module() -> Any:
    """Ray, or a :class:`ConfigurationError` that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigurationError('--ray needs Ray: pip install "mabeam[ray]" (or pip install ray)') from None
    return ray


class _Actor:
    """The body of one Ray actor: a partition worker over a model built in the actor's process."""

    def __init__(self, protocol: Any, config: Any, properties: Sequence[Property], index: int,
                 ownership: Ownership, memory_budget: int, max_seconds: float | None, keep_graph: bool) -> None:
        model = ActorModel(protocol, config)
        self.worker = PartitionWorker(model, properties, index, ownership, memory_budget=memory_budget,
                                      max_seconds=max_seconds, keep_graph=keep_graph)

    def call(self, method: str, *args: Any) -> tuple[str, Any]:
        try:
            return "ok", getattr(self.worker, method)(*args)
        except OutOfMemory:
            return "out-of-memory", None
        except OutOfTime:
            return "out-of-time", None

    def expand(self, expand: bool) -> tuple[Any, ...]:
        """The level's batches, one Ray object each (``num_returns`` = workers + 1), then the count."""
        status, value = self.call("expand", expand)
        if status != "ok":
            return (b"",) * self.worker.workers + ((status, 0),)
        batches, generated = value
        return (*batches, ("ok", generated))

    def merge(self, *batches: bytes) -> tuple[str, Any]:
        return self.call("merge", list(batches))

    def donate(self, counts: list[int]) -> tuple[bytes, ...]:
        status, value = self.call("donate", counts)
        return tuple(value) if status == "ok" else (b"",) * self.worker.workers

    def adopt(self, *batches: bytes) -> tuple[str, Any]:
        return self.call("adopt", list(batches))


class RayPool:
    """``workers`` Ray actors (one CPU each), spoken to by remote calls."""

    def __init__(self, model: ActorModel, properties: Sequence[Property], ownership: Ownership, *,
                 address: str | None, memory_budget: int, max_seconds: float | None, keep_graph: bool) -> None:
        ray = self.ray = ray_module()
        self.workers = workers = ownership.workers
        self.started_ray = False
        if not ray.is_initialized():
            if address in (None, "local"):
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                         configure_logging=False)
                self.started_ray = True
            else:
                ray.init(address=address, log_to_driver=False, configure_logging=False)
        actor = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        budget = memory_budget // workers
        self.actors = [actor.options(name=None).remote(model.protocol, model.config, properties, k, ownership,
                                                      budget, max_seconds, keep_graph) for k in range(workers)]

    def _get(self, refs: list[Any]) -> list[Any]:
        """Results of remote calls, raising the first budget or failure any worker reported."""
        answers = self.ray.get(refs)
        values = []
        for status, value in answers:
            if status == "out-of-memory":
                raise OutOfMemory
            if status == "out-of-time":
                raise OutOfTime
            values.append(value)
        return values

    def call_all(self, method: str, args: Sequence[tuple[Any, ...]]) -> list[Any]:
        return self._get([a.call.remote(method, *arg) for a, arg in zip(self.actors, args)])

    def level(self, expand: bool) -> tuple[int, list[LevelReport]]:
        w = self.workers
        outs = [a.expand.options(num_returns=w + 1).remote(expand) for a in self.actors]
        counts = self._get([out[w] for out in outs])
        merged = [a.merge.remote(*[outs[j][k] for j in range(w)]) for k, a in enumerate(self.actors)]
        return sum(counts), self._get(merged)

    def rebalance(self, plan: list[list[int]]) -> None:
        w = self.workers
        gifts = [a.donate.options(num_returns=w).remote(row) for a, row in zip(self.actors, plan)]
        if w == 1:
            gifts = [[g] for g in gifts]
        self._get([a.adopt.remote(*[gifts[j][k] for j in range(w)]) for k, a in enumerate(self.actors)])

    def close(self) -> None:
        for actor in getattr(self, "actors", []):
            with contextlib.suppress(Exception):
                self.ray.kill(actor, no_restart=True)
        self.actors = []
        if self.started_ray:
            self.ray.shutdown()
            self.started_ray = False


def ray_check(model: ActorModel, properties: Sequence[Property], workers: int, *, address: str | None = None,
              progress: Progress | None = None) -> CheckResult:
    """The partitioned search on Ray: ``workers`` actors (see the module docstring)."""
    ray_module()
    where = "a local Ray instance" if address in (None, "local") else f"the Ray cluster at {address}"

    def start(ownership: Ownership, budget: int, keep_graph: bool) -> Pool:
        return RayPool(model, properties, ownership, address=address, memory_budget=budget,
                       max_seconds=model.config.max_seconds, keep_graph=keep_graph)

    return coordinate(model, properties, workers, start, progress=progress,
                      note=f"partitioned search over {workers} Ray actors on {where}")
