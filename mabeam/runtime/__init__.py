"""The live asyncio runtime: real tasks and timers running the same protocol state machines.

One process (:class:`InProcessTransport`) or several connected over TCP
(:class:`TcpTransport`, :mod:`mabeam.runtime.cluster`).
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
from .runtime import AsyncRuntime, run_async, run_live
from .tcp import TcpTransport
from .transport import InProcessTransport, Transport

__all__ = ["AsyncRuntime", "ClusterRun", "InProcessTransport", "TcpTransport", "Transport", "address_book",
           "cluster_agreement", "node_runtime", "run_async", "run_live", "run_local_cluster", "run_node", "split"]
