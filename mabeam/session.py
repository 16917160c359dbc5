"""The public way to run a coordination protocol: pick a driver, a network, a seed; get a result.

``run_protocol`` runs any :class:`~mabeam.core.protocol.Protocol` in the seeded
simulator (virtual time, reproducible) or in the live asyncio runtime (real
tasks and timers). Both return the same :data:`SessionResult`, with the
protocol's safety properties monitored throughout the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from .core.errors import ConfigurationError
from .core.identity import AgentId, Membership
from .core.protocol import Protocol
from .network import NetworkModel
from .sim.result import RunResult

#: what a session reports (the simulator's and the runtime's shared result type)
SessionResult = RunResult

Driver = Literal["simulator", "runtime"]
DEFAULT_RUNTIME_TIMEOUT = 10.0


def _options(driver: str, timeout: float | None, options: dict[str, Any]) -> dict[str, Any]:
    if driver == "simulator":
        return {"until": timeout, **options}
    if driver == "runtime":
        if "record_log" in options or "check_every" in options or "max_events" in options:
            raise ConfigurationError("record_log, check_every and max_events apply to the simulator only")
        return {"timeout": DEFAULT_RUNTIME_TIMEOUT if timeout is None else timeout, **options}
    raise ConfigurationError(f"driver must be 'simulator' or 'runtime', got {driver!r}")


def run_protocol(protocol: Protocol, driver: Driver = "simulator", *, network: NetworkModel | None = None,
                 seed: int | str = 0, timeout: float | None = None, **options: Any) -> SessionResult:
    """Run ``protocol`` once and report decisions, traffic, rejections, evidence and property verdicts.

    ``timeout`` bounds virtual time in the simulator (``None``: run to quiescence)
    and wall-clock seconds in the runtime (default 10 s); a run that hits it
    reports ``status="no-decision"`` unless every correct agent had decided.
    Other options (``crashes``, ``byzantine``, ``properties``, ``monitor``,
    ``raise_on_violation``, ``stop_when_decided``...) go to the driver.
    Inside a running event loop, use :func:`run_protocol_async` for the runtime.
    """
    settings = _options(driver, timeout, options)
    if driver == "simulator":
        from .sim.simulator import Simulator

        return Simulator(protocol, network, seed=seed, **settings).run()
    from .runtime.runtime import AsyncRuntime

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(AsyncRuntime(protocol, network, seed=seed, **settings).run())
    raise ConfigurationError("run_protocol(driver='runtime') was called inside a running event loop; "
                             "await run_protocol_async(...) instead")


async def run_protocol_async(protocol: Protocol, *, network: NetworkModel | None = None, seed: int | str = 0,
                             timeout: float | None = None, **options: Any) -> SessionResult:
    """Run ``protocol`` in the live runtime inside the caller's event loop."""
    from .runtime.runtime import AsyncRuntime

    return await AsyncRuntime(protocol, network, seed=seed, **_options("runtime", timeout, options)).run()


def _proposals(proposals: Mapping[AgentId, str]) -> tuple[Membership, dict[AgentId, str]]:
    if not isinstance(proposals, Mapping):
        raise ConfigurationError(f"proposals must map agent -> value, got {type(proposals).__name__}")
    return Membership(proposals), dict(proposals)


def start_majority_vote(proposals: Mapping[AgentId, str], *, driver: Driver = "simulator",
                        network: NetworkModel | None = None, seed: int | str = 0,
                        timeout: float | None = None, session: str = "s0", **options: Any) -> SessionResult:
    """A simple-majority vote among the agents named in ``proposals`` (crash tolerant, f < n/2)."""
    from .protocols.majority import MajorityVoting

    membership, inputs = _proposals(proposals)
    return run_protocol(MajorityVoting(membership, inputs, session=session), driver, network=network,
                        seed=seed, timeout=timeout, **options)


def start_weighted_vote(proposals: Mapping[AgentId, str], weights: Mapping[AgentId, object], *,
                        threshold: object | None = None, byzantine_safe: bool = True,
                        max_faulty_weight: object = 0, driver: Driver = "simulator",
                        network: NetworkModel | None = None, seed: int | str = 0,
                        timeout: float | None = None, session: str = "s0", **options: Any) -> SessionResult:
    """A weighted vote: a value wins with strictly more than ``threshold`` of the total weight.

    ``byzantine_safe=True`` runs the Byzantine mode (threshold at least 2/3, faulty
    weight declared by ``max_faulty_weight`` and below 1/3); ``False`` the crash mode
    (threshold at least 1/2). ``threshold=None`` takes the mode's minimum.
    """
    from .protocols.weighted import WeightedVoting

    if not isinstance(byzantine_safe, bool):
        raise ConfigurationError(f"byzantine_safe must be a bool, got {byzantine_safe!r}")
    membership, inputs = _proposals(proposals)
    protocol = WeightedVoting(membership, inputs, weights, mode="byzantine" if byzantine_safe else "crash",
                              threshold=threshold, max_faulty_weight=max_faulty_weight, session=session)
    return run_protocol(protocol, driver, network=network, seed=seed, timeout=timeout, **options)
