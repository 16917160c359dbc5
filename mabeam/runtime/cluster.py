"""Running one protocol instance as several TCP-connected nodes.

A *node* is an :class:`~mabeam.runtime.runtime.AsyncRuntime` hosting some of
the agents with a :class:`~mabeam.runtime.tcp.TcpTransport` to the rest. Nodes
may live in one event loop (:func:`run_local_cluster`, for tests) or in separate
OS processes (``examples/distributed_tcp.py``); either way they talk only over
real sockets. Every node must build the same protocol instance (same members,
inputs, session and public keys) for their messages to be accepted, and holds
TLS credentials for the agents it hosts (:mod:`mabeam.runtime.keygen` makes a
cluster's).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.protocol import Protocol
from ..live.monitor import LiveMonitor
from ..live.result import RunResult
from .keygen import ClusterKeys
from .runtime import AsyncRuntime
from .tcp import Address, TcpTransport


def split(agents: Sequence[AgentId], parts: int) -> list[tuple[AgentId, ...]]:
    """``agents`` dealt round-robin into ``parts`` non-empty groups (agent i goes to node i mod parts)."""
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= len(agents):
        raise ConfigurationError(f"cannot split {len(agents)} agents into {parts!r} nodes")
    return [tuple(agents[i::parts]) for i in range(parts)]


def address_book(groups: Sequence[Sequence[AgentId]], addresses: Sequence[Address]) -> dict[AgentId, Address]:
    """agent -> the (host, port) of the node hosting it."""
    if len(groups) != len(addresses):
        raise ConfigurationError("one address per group of agents is needed")
    return {agent: tuple(address) for group, address in zip(groups, addresses)  # type: ignore[misc]
            for agent in group}


async def run_node(protocol: Protocol, transport: TcpTransport, *, timeout: float,
                   **options: Any) -> RunResult:
    """Run the agents ``transport`` hosts until they have all decided or ``timeout`` passes."""
    return await node_runtime(protocol, transport, timeout=timeout, **options).run()


def node_runtime(protocol: Protocol, transport: TcpTransport, *, timeout: float, **options: Any) -> AsyncRuntime:
    """The runtime of one node: ``transport``'s agents, stopping once they have decided (unless told not to)."""
    options.setdefault("stop_when_decided", True)
    return AsyncRuntime(protocol, local=transport.local, transport=transport, timeout=timeout, **options)


def cluster_agreement(protocol: Protocol, decisions: Mapping[AgentId, Sequence[Any]]) -> tuple[bool, Any]:
    """(agreement, the common value or ``None``) over every node's decisions, ``agent -> [value, ...]``.

    Agreement is what the protocol says it is (:meth:`~mabeam.core.protocol.Protocol.decisions_agree`).
    """
    values = [v for vs in decisions.values() for v in vs]
    agreed = protocol.decisions_agree(values)
    distinct = {repr(v): v for v in values}
    return agreed, (next(iter(distinct.values())) if len(distinct) == 1 else None)


@dataclass
class ClusterRun:
    """What :func:`run_local_cluster` saw: each node's result and transport, and the group's verdicts."""

    results: list[RunResult]
    transports: list[TcpTransport]
    #: the protocol's properties judged once on the nodes' merged final states (safety and goals)
    properties: dict[str, dict[str, Any]]
    agreement: bool
    decided_value: Any

    @property
    def decisions(self) -> dict[AgentId, list[Any]]:
        return {a: [d.value for d in ds] for r in self.results for a, ds in r.decisions.items()}

    def violations(self) -> list[str]:
        return [pid for pid, v in self.properties.items() if v["status"] == "violated"]


async def run_local_cluster(protocol: Protocol, groups: Sequence[Sequence[AgentId]], *, timeout: float = 10.0,
                            keys: ClusterKeys | None = None, transport_options: Mapping[str, Any] | None = None,
                            **options: Any) -> ClusterRun:
    """One node per group in this event loop, connected over localhost TCP on ephemeral ports.

    With ``keys`` each node runs TLS with its group's certificates; without, the
    ``transport_options`` must say how the nodes authenticate (e.g. ``insecure=True``).
    """
    settings = dict(transport_options or {})
    transports = [TcpTransport(protocol, group, **settings) if keys is None else
                  TcpTransport(protocol, group, tls=keys.tls_credentials(group), **settings) for group in groups]
    addresses = [await t.start() for t in transports]
    book = address_book(groups, addresses)
    for transport in transports:
        transport.connect(book)
    runtimes = [node_runtime(protocol, t, timeout=timeout, **options) for t in transports]
    results = list(await asyncio.gather(*(r.run() for r in runtimes)))
    states: dict[AgentId, Any] = {a: None for a in protocol.agents}
    decisions: set[Any] = set()
    evidence: set[Any] = set()
    for runtime in runtimes:
        local_states, local_decisions, local_evidence = runtime.observed()
        states.update(local_states)
        decisions |= local_decisions
        evidence |= local_evidence
    monitor = LiveMonitor(protocol, byzantine=options.get("byzantine", {}))
    crashed = [a for r in results for a in r.crashed]
    monitor.finish(monitor.snapshot(states, crashed, decisions, evidence), max(r.duration for r in results),
                   sum(r.events for r in results), quiescent=False, fair=True)
    agreed, value = cluster_agreement(protocol, {a: [d.value for d in ds] for r in results
                                                 for a, ds in r.decisions.items()})
    return ClusterRun(results, transports, monitor.to_json(), agreed, value)
