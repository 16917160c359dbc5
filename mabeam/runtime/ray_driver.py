"""Agents as Ray actors (``driver="ray"``): each honest agent's steps run in an actor of its own.

Why: users whose agents already live on a Ray cluster (LLM workers, training
workers) need the verified protocols to run where their agents run, on an
existing distributed engine rather than one of mabeam's own.

:class:`RayRuntime` is the asyncio runtime with one change: an honest agent's
``start``, ``receive``, ``fire`` and ``recover`` run in that agent's actor,
which holds the protocol and the agent's state. Everything else stays in the
driver core (:class:`~mabeam.live.driver.LiveDriver`): the one effect
interpreter, the network model, timers, crashes, deferral, observers, the live
property monitor and the result, so a run reports exactly what the runtime
reports. Each agent task awaits its actor, so different agents' steps run
concurrently on their actors while one agent's events stay in order.
Byzantine strategies (simulated attackers) are played in the driver process.

Ray is optional (``pip install "mabeam[ray]"``); without it the driver raises
:class:`RayUnavailableError`. The driver joins the Ray instance already
initialised in the process, or starts a local one (``ray.init``), or joins
``ray_address``; it leaves Ray running for later sessions (``ray.shutdown()``
stops it). Starting an actor costs a worker process (a second or so), so a
run that ends normally keeps its actors for the next session of this process
(at most :data:`POOL_LIMIT` idle ones, rebound to their new agent);
:func:`release_actors` kills them, and so does ``ray.shutdown()``. A run that
fails kills its actors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.observer import DELIVER, TIMER
from ..core.protocol import Protocol, Step
from ..live.network import NetworkModel
from ..live.result import RunResult
from .runtime import AsyncRuntime

#: idle actors kept per Ray job and actor options, for the next session of this process
POOL_LIMIT = 64
_pool: dict[tuple[str, str], list[Any]] = {}


class RayUnavailableError(ConfigurationError):
    """``driver="ray"`` was asked for but Ray is not installed."""


def ray_module() -> Any:
    """The ``ray`` package, or :class:`RayUnavailableError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise RayUnavailableError('driver="ray" needs Ray: pip install "mabeam[ray]" (or pip install ray)') from None
    return ray


# ------------------------------------------------------------ key serialisation
def _private_key(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def _public_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def _register_key_serializers(ray: Any) -> None:
    """Ed25519 keys do not pickle; ship them to the actors as raw bytes (the actor holds its own copy)."""
    sample = Ed25519PrivateKey.from_private_bytes(bytes(32))
    ray.util.register_serializer(type(sample), serializer=lambda k: k.private_bytes_raw(),
                                 deserializer=_private_key)
    ray.util.register_serializer(type(sample.public_key()), serializer=lambda k: k.public_bytes_raw(),
                                 deserializer=_public_key)


def connect(address: str | None = None) -> Any:
    """Ray, initialised: the instance already running in this process, a new local one, or ``address``."""
    ray = ray_module()
    if not ray.is_initialized():
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    _register_key_serializers(ray)
    return ray


# ----------------------------------------------------------------- the actor
class AgentActor:
    """One agent: the protocol and that agent's state; computes its honest steps (runs inside Ray)."""

    def __init__(self) -> None:
        self.protocol: Any = None
        self.agent: AgentId = ""
        self.state: Any = None

    def bind(self, protocol: Protocol, agent: AgentId) -> bool:
        """Become ``agent`` of ``protocol``, from nothing (a pooled actor forgets its last run here)."""
        self.protocol, self.agent, self.state = protocol, agent, None
        return True

    def _keep(self, step: Step) -> Step:
        self.state = step.state
        return step

    def start(self) -> Step:
        return self._keep(self.protocol.start(self.agent))

    def recover(self, durable: Any) -> Step:
        return self._keep(self.protocol.recover(self.agent, durable))

    def receive(self, message: Message) -> Step:
        return self._keep(self.protocol.receive(self.agent, self.state, message))

    def fire(self, timer: str) -> Step:
        return self._keep(self.protocol.fire(self.agent, self.state, timer))


class ActorSteps:
    """The driver core's step source (:class:`~mabeam.live.driver.StepSource`): each agent's actor.

    A step the agent's task already awaited (:meth:`prefetch`) is handed over;
    any other (a first step, a redelivered deferred message) waits for its actor.
    """

    def __init__(self, ray: Any, actors: Mapping[AgentId, Any]) -> None:
        self.ray = ray
        self.actors = dict(actors)
        self.ready: dict[AgentId, tuple[str, Any, Step]] = {}

    def _get(self, ref: Any) -> Step:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayTaskError as error:  # the protocol's own exception, not Ray's wrapper
            raise error.as_instanceof_cause() from None

    async def prefetch(self, agent: AgentId, kind: str, payload: Any) -> None:
        """Compute ``agent``'s step on ``kind``/``payload`` on its actor without blocking the other agents."""
        actor = self.actors[agent]
        ref = actor.receive.remote(payload) if kind == DELIVER else actor.fire.remote(payload)
        try:
            step = await ref
        except self.ray.exceptions.RayTaskError as error:
            raise error.as_instanceof_cause() from None
        self.ready[agent] = (kind, payload, step)

    def _take(self, agent: AgentId, kind: str, payload: Any) -> Step | None:
        ready = self.ready.pop(agent, None)
        if ready is not None and ready[0] == kind and ready[1] is payload:
            return ready[2]
        assert ready is None, f"{agent}: a prefetched step was not the one the driver asked for"
        return None

    def start(self, agent: AgentId) -> Step:
        return self._get(self.actors[agent].start.remote())

    def recover(self, agent: AgentId, durable: Any) -> Step:
        return self._get(self.actors[agent].recover.remote(durable))

    def receive(self, agent: AgentId, state: Any, message: Message) -> Step:
        step = self._take(agent, DELIVER, message)
        return step if step is not None else self._get(self.actors[agent].receive.remote(message))

    def fire(self, agent: AgentId, state: Any, timer: str) -> Step:
        step = self._take(agent, TIMER, timer)
        return step if step is not None else self._get(self.actors[agent].fire.remote(timer))


# ---------------------------------------------------------------- the driver
class RayRuntime(AsyncRuntime):
    """:class:`~mabeam.runtime.runtime.AsyncRuntime` whose honest agents are Ray actors.

    ``ray_address`` joins a cluster (default: the instance this process already
    initialised, else a new local one); ``actor_options`` go to every actor's
    ``.options(...)`` (default ``num_cpus=0``: a protocol step is light; pass
    resources to place actors next to the workers they coordinate).
    Other options are the runtime's.
    """

    driver_name = "ray"

    def __init__(self, protocol: Protocol, *args: Any, ray_address: str | None = None,
                 actor_options: Mapping[str, Any] | None = None, **options: Any) -> None:
        super().__init__(protocol, *args, **options)
        if actor_options is not None and not isinstance(actor_options, Mapping):
            raise ConfigurationError(f"actor_options must be a mapping, got {type(actor_options).__name__}")
        self.ray_address = ray_address
        self.actor_options = {"num_cpus": 0, "max_restarts": 0, **(actor_options or {})}
        ray_module()  # fail at setup, not in the middle of a run

    async def run(self) -> RunResult:
        ray = connect(self.ray_address)
        key = (ray.get_runtime_context().get_job_id(), repr(sorted(self.actor_options.items())))
        for stale in [k for k in _pool if k[0] != key[0]]:  # actors of an earlier Ray session are gone
            del _pool[stale]
        idle = _pool.setdefault(key, [])
        remote = ray.remote(AgentActor).options(**self.actor_options)
        protocol_ref = ray.put(self.protocol)
        honest = [a for a in self.protocol.agents if a in self.local and a not in self.strategies]
        actors = {a: idle.pop() if idle else remote.remote() for a in honest}
        self._remote = ActorSteps(ray, actors)
        self._steps = self._remote
        finished = False
        try:
            # bound to their agents before the clock starts
            await asyncio.gather(*(actor.bind.remote(protocol_ref, a) for a, actor in actors.items()))
            result = await super().run()
            finished = True
            return result
        finally:
            for actor in actors.values():
                if finished and len(idle) < POOL_LIMIT:
                    idle.append(actor)
                else:
                    ray.kill(actor, no_restart=True)

    async def _prefetch(self, i: int, kind: str, payload: Any) -> None:
        """Await agent ``i``'s step on its actor when :meth:`_dispatch` will take it (not crashed, not stale)."""
        if self._strategies[i] is not None or self._crashed[i]:
            return
        agent = self.protocol.agents[i]
        if kind == DELIVER:
            await self._remote.prefetch(agent, kind, payload)
        elif kind == TIMER:
            name, generation = payload
            armed = self._armed[i].get(name)
            if armed is not None and armed[0] == generation:
                await self._remote.prefetch(agent, kind, name)
        if self._crashed[i]:  # crashed while its step was computed: the step never happened
            self._remote.ready.pop(agent, None)


def pooled() -> int:
    """How many idle actors this process keeps for its next sessions."""
    return sum(len(actors) for actors in _pool.values())


def release_actors() -> None:
    """Kill the idle actors kept for later sessions (``ray.shutdown()`` ends them too)."""
    ray = ray_module()
    for actors in _pool.values():
        if ray.is_initialized():
            for actor in actors:
                ray.kill(actor, no_restart=True)
    _pool.clear()


def run_ray(protocol: Protocol, network: NetworkModel | None = None, **options: Any) -> RunResult:
    """Run ``protocol`` with its agents as Ray actors, in a fresh event loop (options as for :class:`RayRuntime`)."""
    return asyncio.run(RayRuntime(protocol, network, **options).run())
