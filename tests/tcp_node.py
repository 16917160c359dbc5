"""One TCP node in its own OS process, for tests that need a process of its own (fd limits, kill -9).

    python tests/tcp_node.py --keys DIR --local a0 [--protocol majority|pbft] [--agents 3]
        [--nofile 96] [--limits JSON] [--timeout 10] [--port P] [--book JSON]
        [--request HEX] [--view-timeout S] [--store FILE] [--die-on pre-prepare|prepare] [--run-to-timeout]

Prints ``{"port": ...}`` once listening; reads the address book (one JSON line)
from stdin unless ``--book`` gives it; runs until its agents decide (or, with
``--run-to-timeout``, until the timeout, serving its peers meanwhile); then
prints its result: status, decisions, rejections, evidence, the peak number of
open file descriptors and incoming connections, its peak RSS and any
event-loop error reports. With ``--store`` a PBFT node keeps its durable state
in that SQLite file and restarts from it; ``--die-on KIND`` makes the process
kill itself with SIGKILL right after the first durable write that holds a
message of that kind signed by its replica, that is after the state is on
disk but before the step's messages leave.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from mabeam.core import Membership, MessageCodec, Protocol
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.pbft import PBFTConfig, PBFTReplica, Prepare, PrePrepare, Request
from mabeam.runtime import DurableLog, SqliteStore, TcpTransport, TransportLimits, load_cluster, run_node

CLIENT = "client"


def build(args: argparse.Namespace, local: tuple[str, ...]) -> Protocol:
    membership = Membership.of_size(args.agents)
    if args.protocol == "majority":
        return MajorityVoting(membership, {a: ("x" if i % 3 == 0 else "y") for i, a in enumerate(membership)})
    request = MessageCodec((Request,)).decode(bytes.fromhex(args.request))
    auth = load_cluster(args.keys, local).authenticator(local)
    return PBFTReplica(PBFTConfig(membership=membership, f=(args.agents - 1) // 3, auth=auth, requesters=(CLIENT,),
                                  requests=(request,), max_seq=1, max_view=3,
                                  base_timeout=args.view_timeout))  # type: ignore[arg-type]


class DyingLog(DurableLog):
    """Stable storage whose first write holding an own signed message of one kind is the process's last act
    (kill -9 after the fsync)."""

    def __init__(self, store: SqliteStore, protocol: Protocol, die_on: str) -> None:
        super().__init__(store, protocol)
        self.die_on = {"pre-prepare": PrePrepare, "prepare": Prepare}[die_on]

    def save(self, agent: str, value: Any) -> None:
        super().save(agent, value)
        signed = [m for s in value.slots for m in (s.pre_prepare, *s.prepares) if m is not None]
        if any(isinstance(m, self.die_on) and m.sender == agent for m in signed):
            os.kill(os.getpid(), signal.SIGKILL)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def node(args: argparse.Namespace) -> dict[str, Any]:
    reports: list[str] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reports.append(str(ctx.get("message"))))
    local = tuple(args.local.split(","))
    protocol = build(args, local)
    keys = load_cluster(args.keys, local)
    limits = TransportLimits().with_overrides(**json.loads(args.limits))
    transport = TcpTransport(protocol, local, tls=keys.tls_credentials(local), limits=limits, port=args.port)
    _, port = await transport.start()
    print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
    line = args.book or await asyncio.to_thread(sys.stdin.readline)
    transport.connect({a: tuple(where) for a, where in json.loads(line).items()})
    options: dict[str, Any] = {}
    if args.store:
        store = SqliteStore(args.store)
        options["durable"] = (DyingLog(store, protocol, args.die_on) if args.die_on
                              else DurableLog(store, protocol))
    if args.run_to_timeout:
        options["stop_when_decided"] = False
    peaks = {"fds": open_fds(), "connections": 0}

    async def watch() -> None:
        while True:
            peaks["fds"] = max(peaks["fds"], open_fds())
            peaks["connections"] = max(peaks["connections"], transport.connections)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        result = await run_node(protocol, transport, timeout=args.timeout, **options)
    finally:
        watcher.cancel()
    return {"status": result.status, "decisions": {a: [str(d.value) for d in ds] for a, ds in result.decisions.items()},
            "rejected": result.rejected, "evidence": [[e.kind, e.against] for e in result.evidence],
            "peak_fds": peaks["fds"], "peak_connections": peaks["connections"],
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "reports": reports}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("--protocol", default="majority", choices=("majority", "pbft"))
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--local", required=True)
    parser.add_argument("--nofile", type=int)
    parser.add_argument("--limits", default="{}")
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--book")
    parser.add_argument("--request")
    parser.add_argument("--store")
    parser.add_argument("--die-on", choices=("pre-prepare", "prepare"))
    parser.add_argument("--run-to-timeout", action="store_true")
    parser.add_argument("--view-timeout", type=float, default=1.0, help="PBFT's first view-change timeout")
    args = parser.parse_args()
    if args.nofile:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    print(json.dumps(asyncio.run(node(args))), flush=True)


if __name__ == "__main__":
    main()
