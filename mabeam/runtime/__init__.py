"""The live asyncio runtime: real tasks and timers running the same protocol state machines.

One process (:class:`InProcessTransport`) or several connected over mutually
authenticated TLS (:class:`TcpTransport`, :mod:`mabeam.runtime.cluster`), with
the deployer's key material (:mod:`mabeam.runtime.keygen`,
:class:`TlsCredentials`), bounded resources (:class:`TransportLimits`) and
durable node state that survives a restart (:class:`SqliteStore`, :class:`DurableLog`).
"""

from .cluster import (
    ClusterRun,
    address_book,
    cluster_agreement,
    node_runtime,
    run_local_cluster,
    run_node,
    split,
)
from .credentials import TlsCredentials
from .keygen import ClusterKeys, generate_cluster, load_cluster, write_cluster
from .limits import TransportLimits
from .runtime import AsyncRuntime, run_async, run_live
from .store import DurableLog, DurableStateError, SqliteStore
from .tcp import TcpTransport
from .transport import InProcessTransport, Transport

__all__ = ["AsyncRuntime", "ClusterKeys", "ClusterRun", "DurableLog", "DurableStateError", "InProcessTransport",
           "SqliteStore", "TcpTransport", "TlsCredentials", "Transport", "TransportLimits", "address_book",
           "cluster_agreement", "generate_cluster", "load_cluster", "node_runtime", "run_async", "run_live",
           "run_local_cluster", "run_node", "split", "write_cluster"]
