"""Runs of the asyncio runtime as traces: real tasks, real timers, the same observations.

The runtime hands every agent's steps out one at a time on one event loop, so steps never overlap
and the global state between two of them is well defined: :class:`TracingRuntime`
records it after each, as :class:`~.observe.TracingSimulator` does. What is in flight
is counted at the driver's edge (every copy handed to the transport, every extra
copy it delivers, minus every delivery an agent processed), because the transport's
timers hide their messages. A runtime run is not reproducible (real time orders
the deliveries): its trace is what that run did.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

from ..core.identity import AgentId
from ..core.messages import Envelope, Message
from ..core.observer import DELIVER, START
from ..core.protocol import Protocol
from ..live.network import NetworkModel
from ..live.result import RunResult
from ..live.strategy import Strategy
from ..runtime.runtime import AsyncRuntime
from .observe import RunTrace, TracingDriver


class TracingRuntime(TracingDriver, AsyncRuntime):
    """The asyncio runtime (in one process, in-process transport), observed after every step.

    The late agents' START items wait until every honest agent has started, so the first
    observation is the spec's initial state here too.
    """

    def __init__(self, protocol: Protocol, network: NetworkModel | None = None, *,
                 late: frozenset[AgentId] = frozenset(), **options: Any) -> None:
        super().__init__(protocol, network, **options)
        self._late_arg = late
        self._held: list[tuple[int, tuple[str, Any, int]]] = []
        self._sends: Counter[Envelope] = Counter()
        self._arrivals: Counter[Envelope] = Counter()
        self._pending: Counter[Envelope] = Counter()

    async def run(self) -> RunResult:
        self._trace_setup(self._late_arg)
        return await super().run()

    def _enqueue(self, i: int, item: tuple[str, Any, int]) -> None:
        if item[0] == START and self.protocol.agents[i] in self.late and self._starts_left > 0:
            self._queued += 1  # counted now, so the run is never judged quiescent while it waits
            self._held.append((i, item))
            return
        super()._enqueue(i, item)

    def _honest_started(self) -> None:
        super()._honest_started()
        held, self._held = self._held, []
        for i, item in held:
            self._put(i, item)

    # what is in flight, counted at the driver's edge
    def _transmit(self, i: int, j: int, message: Message, depth: int) -> None:
        self._sent_copy(Envelope(self.protocol.agents[j], message))
        super()._transmit(i, j, message, depth)

    def _fan_out(self, i: int, targets: tuple[int, ...], message: Message, depth: int) -> None:
        for j in targets:
            self._sent_copy(Envelope(self.protocol.agents[j], message))
        super()._fan_out(i, targets, message, depth)

    def _sent_copy(self, env: Envelope) -> None:
        self._sends[env] += 1
        self._pending[env] += 1

    def _deliver(self, to: AgentId, message: Message, depth: int) -> None:
        env = Envelope(to, message)
        self._arrivals[env] += 1
        if self._arrivals[env] > self._sends[env]:  # a copy the transport duplicated was in flight too
            self._pending[env] += 1
        super()._deliver(to, message, depth)

    def _dispatch(self, i: int, kind: str, payload: Any, depth: int) -> None:
        if kind == DELIVER:
            env = Envelope(self.protocol.agents[i], payload)
            self._pending[env] -= 1
            if self._pending[env] <= 0:
                del self._pending[env]
        super()._dispatch(i, kind, payload, depth)

    def _in_flight(self) -> list[Envelope]:
        return list(self._pending.elements())


def runtime_trace(protocol: Protocol, network: NetworkModel, *, seed: int,
                  crashes: Mapping[AgentId, float] | None = None,
                  byzantine: Mapping[AgentId, Strategy] | None = None, timeout: float = 10.0,
                  late: frozenset[AgentId] = frozenset()) -> RunTrace:
    """One run of ``protocol`` on the asyncio runtime (real seconds: crash times, latencies,
    timers; ``timeout`` bounds it), observed after every step."""
    runtime = TracingRuntime(protocol, network, late=late, seed=seed, crashes=crashes, byzantine=byzantine,
                             timeout=timeout, monitor="end")
    result = asyncio.run(runtime.run())
    return RunTrace(protocol, tuple(runtime.observations), f"asyncio runtime, seed {seed}",
                    {"seed": seed, "crashes": dict(crashes or {}), "byzantine": sorted(byzantine or ()),
                     "status": result.status, "events": result.events, "decided": result.decided_value,
                     "driver": "runtime"})
