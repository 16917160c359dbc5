"""One TCP node in its own OS process, for tests that need a process of its own (fd limits, kill -9).

    python tests/tcp_node.py --keys DIR --protocol majority --agents 3 --local a0 [--nofile 96]
        [--limits JSON] [--timeout 10]

Prints ``{"port": ...}`` once listening, reads the address book (one JSON line)
from stdin, runs until its agents decide (or the timeout), then prints its
result: status, decisions, rejections, evidence, the peak number of open file
descriptors and of incoming connections it saw, its peak RSS and any event-loop
error reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

from mabeam.core import Membership, Protocol
from mabeam.protocols.majority import MajorityVoting
from mabeam.runtime import TcpTransport, TransportLimits, load_cluster, run_node


def build(args: argparse.Namespace, local: tuple[str, ...]) -> Protocol:
    membership = Membership.of_size(args.agents)
    if args.protocol == "majority":
        return MajorityVoting(membership, {a: ("x" if i % 3 == 0 else "y") for i, a in enumerate(membership)})
    raise SystemExit(f"unknown protocol {args.protocol}")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def node(args: argparse.Namespace) -> dict[str, Any]:
    reports: list[str] = []
    asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: reports.append(str(ctx.get("message"))))
    local = tuple(args.local.split(","))
    protocol = build(args, local)
    keys = load_cluster(args.keys, local)
    limits = TransportLimits().with_overrides(**json.loads(args.limits))
    transport = TcpTransport(protocol, local, tls=keys.tls_credentials(local), limits=limits)
    _, port = await transport.start()
    print(json.dumps({"port": port, "pid": os.getpid()}), flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    transport.connect({a: tuple(where) for a, where in json.loads(line).items()})
    peaks = {"fds": open_fds(), "connections": 0}

    async def watch() -> None:
        while True:
            peaks["fds"] = max(peaks["fds"], open_fds())
            peaks["connections"] = max(peaks["connections"], transport.connections)
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        result = await run_node(protocol, transport, timeout=args.timeout)
    finally:
        watcher.cancel()
    return {"status": result.status, "decisions": {a: [str(d.value) for d in ds] for a, ds in result.decisions.items()},
            "rejected": result.rejected, "evidence": len(result.evidence), "peak_fds": peaks["fds"],
            "peak_connections": peaks["connections"], "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
            "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "reports": reports}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("--protocol", default="majority")
    parser.add_argument("--agents", type=int, default=3)
    parser.add_argument("--local", required=True)
    parser.add_argument("--nofile", type=int)
    parser.add_argument("--limits", default="{}")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    if args.nofile:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, hard))
    print(json.dumps(asyncio.run(node(args))), flush=True)


if __name__ == "__main__":
    main()
