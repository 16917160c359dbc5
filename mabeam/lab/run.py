"""One seeded PBFT run for the lab, keeping what the session API throws away.

:func:`mabeam.api.session.start_byzantine_consensus` refuses more Byzantine agents
than the bound and returns only the run result. The lab needs both ends: runs
beyond the bound (to see what breaks), and the honest replicas' final states
(their commit certificates, to audit, and which primaries their timers gave
up on, to date suspicions). The configuration is built exactly as the session
builds it: one client request, keys per agent, a doubling view-change timer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..api.session import PROPOSER
from ..core.errors import ConfigurationError, InsufficientReplicasError
from ..core.identity import AgentId, Membership
from ..live.network import NetworkModel
from ..live.result import RunResult
from ..live.strategy import Strategy
from ..protocols.pbft import Ed25519Authenticator, PBFTReplica, SymbolicAuthenticator
from ..protocols.pbft.config import PBFTConfig, signed_requests
from ..protocols.pbft.normal import VIEW_CHANGE_TIMER
from ..protocols.pbft.state import ReplicaState
from ..sim.simulator import Simulator

#: builds the Byzantine strategies once the protocol (and so every agent's key) exists
Attackers = Callable[[PBFTReplica], Mapping[AgentId, Strategy]]


@dataclass
class LabRun:
    """A run result plus the final honest states and when each honest timer gave up on a view."""

    result: RunResult
    protocol: PBFTReplica
    states: dict[AgentId, ReplicaState]
    #: honest agent -> ((view it suspected, time its timer expired), ...) in order
    timeouts: dict[AgentId, tuple[tuple[int, float], ...]] = field(default_factory=dict)

    @property
    def f(self) -> int:
        return self.protocol.f

    @property
    def byzantine(self) -> frozenset[AgentId]:
        return frozenset(self.result.byzantine)

    @property
    def honest(self) -> tuple[AgentId, ...]:
        return tuple(a for a in self.protocol.agents if a not in self.byzantine)


def build_pbft(n: int, *, f: int | None = None, proposal: str = "launch", seed: int | str = 0,
               view_timeout: float = 0.5, authentication: str = "symbolic", session: str = "s0") -> PBFTReplica:
    """A PBFT instance for ``n`` agents deciding on ``proposal`` (``f`` defaults to (n-1)//3)."""
    membership = Membership.of_size(n)
    f = (n - 1) // 3 if f is None else f
    if n < 3 * f + 1:
        raise InsufficientReplicasError(f"tolerating f={f} needs n >= {3 * f + 1}, got {n}")
    if authentication not in ("ed25519", "symbolic"):
        raise ConfigurationError(f"authentication must be 'ed25519' or 'symbolic', got {authentication!r}")
    scheme = Ed25519Authenticator if authentication == "ed25519" else SymbolicAuthenticator
    auth = scheme((*membership.agents, PROPOSER), seed=f"{session}/{seed}")
    config = PBFTConfig(membership=membership, f=f, auth=auth, requesters=(PROPOSER,),
                        requests=signed_requests(auth, session, [(PROPOSER, proposal)]), session=session,
                        max_seq=1, max_view=2 * f + 2, base_timeout=float(view_timeout))
    return PBFTReplica(config)


def run_pbft(protocol: PBFTReplica, attackers: Attackers | None = None, *, network: NetworkModel | None = None,
             seed: int | str = 0, until: float | None = None) -> LabRun:
    """Run ``protocol`` in the simulator with ``attackers(protocol)`` as the Byzantine agents.

    Unlike the session API this accepts more than f attackers: the lab studies that case too.
    By default the run goes to quiescence (view changes stop at the configured view bound),
    so the liveness monitor can judge it.
    """
    strategies = dict(attackers(protocol)) if attackers is not None else {}
    captured: dict[AgentId, Any] = {}

    def summarize(states: Mapping[AgentId, Any]) -> dict[str, Any]:
        captured.update(states)
        views = {a: s.view for a, s in states.items() if a not in strategies and s is not None}
        return {"view_changes": max(views.values(), default=0), "final_views": views}

    result = Simulator(protocol, network, seed=seed, byzantine=strategies, until=until, record_log=True,
                       summarize=summarize).run()
    honest = {a: s for a, s in captured.items() if a not in strategies and s is not None}
    return LabRun(result, protocol, honest, _timeouts(result, honest))


def _timeouts(result: RunResult, states: Mapping[AgentId, ReplicaState]
              ) -> dict[AgentId, tuple[tuple[int, float], ...]]:
    """Date each suspected view: an armed view-change timer fires only while a request is pending
    below the view bound, and every such expiry suspects the replica's current view, so the k-th
    expiry in the log is the k-th (lowest first) view in the replica's ``suspected`` history."""
    fired: dict[AgentId, list[float]] = {}
    for at, _, kind, agent, what in result.log or ():
        if kind == "timer" and agent in states and what.startswith(VIEW_CHANGE_TIMER + "#"):
            fired.setdefault(agent, []).append(at)
    return {agent: tuple(zip(sorted(state.suspected), fired.get(agent, ())))
            for agent, state in states.items() if state.suspected}
