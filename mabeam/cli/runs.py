"""Building live runs of registered protocols with seeded faults (shared by the CLI and the demo)."""

from __future__ import annotations

from typing import Any

from ..api.registry import get
from ..api.session import Driver, SessionResult, run_protocol
from ..core.errors import ConfigurationError
from ..core.rng import SeededRandom
from ..live.network import Latency, NetworkModel
from ..live.strategy import Strategy


def run_registered(protocol: str, agents: int, faulty: int = 0, *, seed: int = 0, loss: float = 0.0,
                   driver: Driver = "simulator", timeout: float | None = None,
                   network: NetworkModel | None = None, **options: Any) -> SessionResult:
    """Run the registry's standard instance of ``protocol`` live.

    ``faulty`` agents crash at seeded random times (crash-tolerant protocols) or
    are silent Byzantine agents (Byzantine protocols).
    """
    entry = get(protocol)
    if not 0.0 <= loss < 1.0:
        raise ConfigurationError(f"loss must be in [0, 1), got {loss}")
    instance = entry.factory(agents, faulty)
    rng = SeededRandom(seed).derive("faults")
    if network is None:
        network = NetworkModel(latency=Latency.lognormal(0.01, 0.5), loss=loss)
    if entry.fault_model == "crash":
        victims = rng.sample(list(instance.agents), faulty)
        options.setdefault("crashes", {a: round(rng.uniform(0.0, 0.02), 4) for a in victims})
    else:
        options.setdefault("byzantine", {a: Strategy(a) for a in sorted(entry.faulty_agents(instance, faulty))})
    return run_protocol(instance, driver, network=network, seed=seed, timeout=timeout, **options)


def summarize(result: SessionResult) -> str:
    decided = sum(1 for records in result.decisions.values() if records)
    verdicts = ", ".join(f"{pid} {v['status']}" for pid, v in sorted(result.properties.items()))
    rejected = ", ".join(f"{k}={v}" for k, v in sorted(result.rejected.items())) or "none"
    unit = "virtual s" if result.driver == "simulator" else "s"
    return "\n".join([
        f"  status: {result.status}; decided value: {result.decided_value!r}; "
        f"{decided} agents decided; agreement: {'yes' if result.agreement else 'NO'}",
        f"  time: {result.duration:.3f} {unit} (wall {result.wall_seconds:.2f} s); events {result.events:,}; "
        f"messages sent {result.messages.sent:,}",
        f"  faults: crashed {len(result.crashed)}, byzantine {len(result.byzantine)}; "
        f"rejected messages: {rejected}; evidence items: {len(result.evidence)}",
        f"  properties monitored live: {verdicts}",
    ])
