"""The public way to run a coordination protocol: pick a driver, a network, a seed; get a result.

``run_protocol`` runs any :class:`~mabeam.core.protocol.Protocol` in the seeded
simulator (virtual time, reproducible), in the live asyncio runtime (real
tasks and timers) or with each agent as a Ray actor (``driver="ray"``, the
runtime with the agents' steps on Ray). All return the same :data:`SessionResult`, with the
protocol's safety properties monitored throughout the run.
:func:`start_byzantine_consensus` runs PBFT on one proposal, optionally with
Byzantine agents playing the attacks of :mod:`mabeam.attacks`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ..core.errors import ConfigurationError, InsufficientReplicasError
from ..core.identity import AgentId, Membership
from ..core.protocol import Protocol
from ..live.network import NetworkModel
from ..live.result import RunResult
from ..live.strategy import Strategy

#: what a session reports (the simulator's and the runtime's shared result type)
SessionResult = RunResult

Driver = Literal["simulator", "runtime", "ray"]
DEFAULT_RUNTIME_TIMEOUT = 10.0


def _options(driver: str, timeout: float | None, options: dict[str, Any]) -> dict[str, Any]:
    from .telemetry import active_observers

    extra = active_observers()  # telemetry, when enabled (nothing otherwise: no cost)
    if extra:
        options = {**options, "observers": (*(options.get("observers") or ()), *extra)}
    if driver != "ray" and ("ray_address" in options or "actor_options" in options):
        raise ConfigurationError("ray_address and actor_options apply to driver='ray' only")
    if driver == "simulator":
        return {"until": timeout, **options}
    if driver in ("runtime", "ray"):
        if "record_log" in options or "check_every" in options or "max_events" in options:
            raise ConfigurationError("record_log, check_every and max_events apply to the simulator only")
        return {"timeout": DEFAULT_RUNTIME_TIMEOUT if timeout is None else timeout, **options}
    raise ConfigurationError(f"driver must be 'simulator', 'runtime' or 'ray', got {driver!r}")


def run_protocol(protocol: Protocol, driver: Driver = "simulator", *, network: NetworkModel | None = None,
                 seed: int | str = 0, timeout: float | None = None, **options: Any) -> SessionResult:
    """Run ``protocol`` once and report decisions, traffic, rejections, evidence and property verdicts.

    ``timeout`` bounds virtual time in the simulator (``None``: run to quiescence)
    and wall-clock seconds in the runtime (default 10 s); a run that hits it
    reports ``status="no-decision"`` unless every correct agent had decided.
    Other options (``crashes``, ``byzantine``, ``properties``, ``monitor``,
    ``raise_on_violation``, ``stop_when_decided``...) go to the driver; ``driver="ray"``
    also takes ``ray_address`` and ``actor_options`` (:class:`~mabeam.runtime.ray_driver.RayRuntime`)
    and needs the ``[ray]`` extra (:class:`~mabeam.runtime.ray_driver.RayUnavailableError` without it).
    Inside a running event loop, use :func:`run_protocol_async` for the runtime.
    """
    settings = _options(driver, timeout, options)
    if driver == "simulator":
        from ..sim.simulator import Simulator

        return Simulator(protocol, network, seed=seed, **settings).run()
    from ..runtime.runtime import AsyncRuntime

    if driver == "ray":
        from ..runtime.ray_driver import RayRuntime

        runtime: AsyncRuntime = RayRuntime(protocol, network, seed=seed, **settings)
    else:
        runtime = AsyncRuntime(protocol, network, seed=seed, **settings)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(runtime.run())
    raise ConfigurationError(f"run_protocol(driver={driver!r}) was called inside a running event loop; "
                             "await run_protocol_async(...) instead")


async def run_protocol_async(protocol: Protocol, *, network: NetworkModel | None = None, seed: int | str = 0,
                             timeout: float | None = None, driver: Literal["runtime", "ray"] = "runtime",
                             **options: Any) -> SessionResult:
    """Run ``protocol`` in the live runtime (or with its agents as Ray actors) inside the caller's event loop."""
    from ..runtime.runtime import AsyncRuntime

    if driver not in ("runtime", "ray"):
        raise ConfigurationError(f"run_protocol_async runs driver 'runtime' or 'ray', got {driver!r}")
    settings = _options(driver, timeout, options)
    if driver == "ray":
        from ..runtime.ray_driver import RayRuntime

        return await RayRuntime(protocol, network, seed=seed, **settings).run()
    return await AsyncRuntime(protocol, network, seed=seed, **settings).run()


def _proposals(proposals: Mapping[AgentId, str]) -> tuple[Membership, dict[AgentId, str]]:
    if not isinstance(proposals, Mapping):
        raise ConfigurationError(f"proposals must map agent -> value, got {type(proposals).__name__}")
    return Membership(proposals), dict(proposals)


def start_majority_vote(proposals: Mapping[AgentId, str], *, driver: Driver = "simulator",
                        network: NetworkModel | None = None, seed: int | str = 0,
                        timeout: float | None = None, session: str = "s0", **options: Any) -> SessionResult:
    """A simple-majority vote among the agents named in ``proposals`` (crash tolerant, f < n/2)."""
    from ..protocols.majority import MajorityVoting

    membership, inputs = _proposals(proposals)
    return run_protocol(MajorityVoting(membership, inputs, session=session), driver, network=network,
                        seed=seed, timeout=timeout, **options)


def start_weighted_vote(proposals: Mapping[AgentId, str], weights: Mapping[AgentId, object], *,
                        threshold: object | None = None, byzantine_safe: bool = True,
                        max_faulty_weight: object = 0, driver: Driver = "simulator",
                        network: NetworkModel | None = None, seed: int | str = 0,
                        timeout: float | None = None, session: str = "s0",
                        communication: str = "all-to-all", collector: AgentId | None = None,
                        authentication: str = "ed25519", **options: Any) -> SessionResult:
    """A weighted vote: a value wins with strictly more than ``threshold`` of the total weight.

    ``byzantine_safe=True`` runs the Byzantine mode (threshold at least 2/3, faulty
    weight declared by ``max_faulty_weight`` and below 1/3); ``False`` the crash mode
    (threshold at least 1/2). ``threshold=None`` takes the mode's minimum.
    ``communication="linear"`` sends every vote, signed (``authentication``), to ``collector``
    (default: the first agent), which broadcasts a certificate: 2(n-1) messages, not n(n-1).
    """
    from ..protocols.weighted import LinearWeightedVoting, Mode, WeightedVoting

    if not isinstance(byzantine_safe, bool):
        raise ConfigurationError(f"byzantine_safe must be a bool, got {byzantine_safe!r}")
    if communication not in ("all-to-all", "linear"):
        raise ConfigurationError(f"communication must be 'all-to-all' or 'linear', got {communication!r}")
    membership, inputs = _proposals(proposals)
    mode: Mode = "byzantine" if byzantine_safe else "crash"
    protocol: WeightedVoting
    if communication == "linear":
        protocol = LinearWeightedVoting(membership, inputs, weights, auth=_authenticator(
            authentication, membership.agents, f"{session}/{seed}"), collector=collector, mode=mode,
            threshold=threshold, max_faulty_weight=max_faulty_weight, session=session)
    else:
        if collector is not None:
            raise ConfigurationError("collector is a linear-mode option (communication='linear')")
        protocol = WeightedVoting(membership, inputs, weights, mode=mode, threshold=threshold,
                                  max_faulty_weight=max_faulty_weight, session=session)
    return run_protocol(protocol, driver, network=network, seed=seed, timeout=timeout, **options)


def _authenticator(authentication: str, principals: Sequence[AgentId], seed: str) -> Any:
    """Seed-derived keys for an in-process run: Ed25519 (real signatures) or the checker's symbolic ones."""
    from ..core.auth import Ed25519Authenticator, SymbolicAuthenticator

    if authentication not in ("ed25519", "symbolic"):
        raise ConfigurationError(f"authentication must be 'ed25519' or 'symbolic', got {authentication!r}")
    scheme = Ed25519Authenticator if authentication == "ed25519" else SymbolicAuthenticator
    return scheme(principals, seed=seed)


# ------------------------------------------------------------------ Byzantine consensus
Authentication = Literal["ed25519", "symbolic"]
#: the client whose signed request carries the proposal (not a replica)
PROPOSER = "client"
#: a session orders one request, its proposal
SESSION_MAX_SEQ = 1
#: so it takes no checkpoint: an interval above ``max_seq``, as in the checker's standard bound.
#: A checkpoint truncates the log and moves the watermarks for the requests after it, and a
#: one-request log has none; taking one anyway cost every replica a signature and n-1 messages on
#: the path of the replicas still deciding (a third of the messages at 13 agents). Decisions
#: survive without it: a restarted replica keeps its commit certificates, and a lagging one catches
#: up from them (spec/pbft.md, "Catch-up").
SESSION_CHECKPOINT_INTERVAL = SESSION_MAX_SEQ + 1


def start_byzantine_consensus(proposal: str, agents: int | Sequence[AgentId], *,
                              fault_tolerance: int | None = None, timeout: float | None = None,
                              driver: Driver = "simulator",
                              byzantine: Mapping[AgentId, Strategy | str] | None = None,
                              network: NetworkModel | None = None, seed: int | str = 0,
                              authentication: Authentication = "ed25519", view_timeout: float = 0.5,
                              attack_options: Mapping[str, Mapping[str, Any]] | None = None,
                              session: str = "s0", communication: str = "all-to-all",
                              **options: Any) -> SessionResult:
    """PBFT among ``agents`` (a count or names) on one ``proposal``, tolerating ``fault_tolerance`` liars.

    ``byzantine`` maps agents to an attack: a :class:`~mabeam.live.strategy.Strategy`
    bound to that agent, or an attack name from :data:`mabeam.attacks.ATTACKS`
    (``attack_options[name]`` configures it). Messages are signed with real Ed25519
    keys or, for speed, ``"symbolic"`` keyed digests. ``communication="linear"`` sends each
    prepare and commit to the view's primary, which relays them in bundles: O(n) messages per
    decision instead of O(n^2) (spec/pbft.md, "Linear communication"). ``view_timeout`` is the first
    view-change timeout (it doubles per failed view); ``timeout`` bounds the run as
    for :func:`run_protocol`. The result's ``extras`` hold ``view_changes`` (the
    highest view an honest replica reached), each honest replica's final view, and
    ``evidence_verified``: how many evidence items a third party holding only the
    public keys accepts (every item should be).
    """
    protocol, strategies = _byzantine_setup(proposal, agents, fault_tolerance, byzantine, seed,
                                            authentication, view_timeout, attack_options, session,
                                            communication)
    result = run_protocol(protocol, driver, network=network, seed=seed, timeout=timeout,
                          byzantine=strategies, summarize=_pbft_summary(strategies), **options)
    return _with_checked_evidence(result, protocol)


async def start_byzantine_consensus_async(proposal: str, agents: int | Sequence[AgentId], *,
                                          fault_tolerance: int | None = None, timeout: float | None = None,
                                          byzantine: Mapping[AgentId, Strategy | str] | None = None,
                                          network: NetworkModel | None = None, seed: int | str = 0,
                                          authentication: Authentication = "ed25519",
                                          view_timeout: float = 0.5,
                                          attack_options: Mapping[str, Mapping[str, Any]] | None = None,
                                          session: str = "s0", communication: str = "all-to-all",
                                          **options: Any) -> SessionResult:
    """:func:`start_byzantine_consensus` on the live runtime, inside the caller's event loop."""
    protocol, strategies = _byzantine_setup(proposal, agents, fault_tolerance, byzantine, seed,
                                            authentication, view_timeout, attack_options, session,
                                            communication)
    result = await run_protocol_async(protocol, network=network, seed=seed, timeout=timeout,
                                      byzantine=strategies, summarize=_pbft_summary(strategies), **options)
    return _with_checked_evidence(result, protocol)


def _byzantine_setup(proposal: str, agents: int | Sequence[AgentId], fault_tolerance: int | None,
                     byzantine: Mapping[AgentId, Strategy | str] | None, seed: int | str,
                     authentication: str, view_timeout: float,
                     attack_options: Mapping[str, Mapping[str, Any]] | None, session: str,
                     communication: str) -> tuple[Protocol, dict[AgentId, Strategy]]:
    from ..attacks import make_attack
    from ..attacks.pbft import pbft_adapter
    from ..protocols.pbft import Ed25519Authenticator, PBFTReplica, SymbolicAuthenticator
    from ..protocols.pbft.config import PBFTConfig, signed_requests

    if not isinstance(proposal, str) or not proposal:
        raise ConfigurationError(f"the proposal must be a non-empty string, got {proposal!r}")
    if isinstance(agents, bool):
        raise ConfigurationError(f"agents must be a count or a sequence of names, got {agents!r}")
    membership = Membership.of_size(agents) if isinstance(agents, int) else Membership(agents)
    n = len(membership)
    f = (n - 1) // 3 if fault_tolerance is None else fault_tolerance
    if isinstance(f, bool) or not isinstance(f, int) or f < 0:
        raise ConfigurationError(f"fault_tolerance must be a non-negative integer, got {f!r}")
    if n < 3 * f + 1:
        raise InsufficientReplicasError(f"tolerating f={f} Byzantine agents needs n >= {3 * f + 1}, got {n}")
    byzantine = dict(byzantine or {})
    for agent in byzantine:
        membership.require(agent)
    if len(byzantine) > f:
        raise InsufficientReplicasError(f"{len(byzantine)} Byzantine agents exceed fault_tolerance f={f}")
    if authentication not in ("ed25519", "symbolic"):
        raise ConfigurationError(f"authentication must be 'ed25519' or 'symbolic', got {authentication!r}")
    if isinstance(view_timeout, bool) or not isinstance(view_timeout, (int, float)) or not view_timeout > 0:
        raise ConfigurationError(f"view_timeout must be a positive number of seconds, got {view_timeout!r}")
    if PROPOSER in membership:
        raise ConfigurationError(f"{PROPOSER!r} names the proposing client; pick other agent names")
    scheme = Ed25519Authenticator if authentication == "ed25519" else SymbolicAuthenticator
    auth = scheme((*membership.agents, PROPOSER), seed=f"{session}/{seed}")
    config = PBFTConfig(membership=membership, f=f, auth=auth, requesters=(PROPOSER,),
                        requests=signed_requests(auth, session, [(PROPOSER, proposal)]), session=session,
                        max_seq=SESSION_MAX_SEQ, checkpoint_interval=SESSION_CHECKPOINT_INTERVAL, max_view=2 * f + 2,
                        base_timeout=float(view_timeout), communication=communication)
    protocol = PBFTReplica(config)
    strategies: dict[AgentId, Strategy] = {}
    for agent, attack in byzantine.items():
        if isinstance(attack, str):
            settings = dict((attack_options or {}).get(attack, {}))
            attack = make_attack(attack, agent, protocol, pbft_adapter(protocol, agent), **settings)
        strategies[agent] = attack
    return protocol, strategies


def _pbft_summary(strategies: Mapping[AgentId, Strategy]) -> Any:
    """What the drivers cannot know generically: how many view changes the honest replicas went through."""
    def summarize(states: Mapping[AgentId, Any]) -> dict[str, Any]:
        views = {a: s.view for a, s in states.items() if a not in strategies and s is not None}
        return {"view_changes": max(views.values(), default=0), "final_views": views}

    return summarize


def _with_checked_evidence(result: SessionResult, protocol: Protocol) -> SessionResult:
    from ..protocols.pbft import verify_evidence

    auth = protocol.config.auth  # type: ignore[attr-defined]
    result.extras["evidence_verified"] = sum(
        1 for e in result.evidence if e.effect is not None and verify_evidence(e.effect, auth))
    return result
