"""A majority vote and a PBFT consensus whose agents live in separate OS processes, over TCP.

The parent starts one child process per group of agents. Each child builds the
same protocol instance, listens on an ephemeral localhost port and reports it;
the parent sends every child the address book (agent -> host, port); each child
then runs its agents with an AsyncRuntime over a TcpTransport until they have
decided and reports its decisions. PBFT messages carry real Ed25519 signatures.
The parent prints each process's decisions and whether all processes agree, and
exits 1 if they disagree, an agent did not decide, or a process failed or timed out.

    python examples/distributed_tcp.py --processes 4 --voters 8 --replicas 4 --timeout 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mabeam.core import Membership, Protocol
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.pbft import Ed25519Authenticator, PBFTConfig, PBFTReplica, signed_requests
from mabeam.runtime import TcpTransport, address_book, cluster_agreement, run_node, split

SCENARIOS = ("majority", "pbft")
PROPOSAL = "block-42"
CLIENT = "client"


def build(scenario: str, agents: int, seed: int, view_timeout: float = 2.0) -> Protocol:
    """The protocol instance every process rebuilds identically from the command line."""
    membership = Membership.of_size(agents)
    if scenario == "majority":  # every third agent votes x, the rest (a strict majority) y
        return MajorityVoting(membership, {a: ("x" if i % 3 == 0 else "y") for i, a in enumerate(membership)},
                              session=f"tcp-majority-{seed}")
    session = f"tcp-pbft-{seed}"
    f = (agents - 1) // 3
    # every process derives the same keys from the seed; a deployment would hand each its own key
    auth = Ed25519Authenticator((*membership.agents, CLIENT), seed=session)
    config = PBFTConfig(membership=membership, f=f, auth=auth, requesters=(CLIENT,),
                        requests=signed_requests(auth, session, [(CLIENT, PROPOSAL)]), session=session,
                        max_seq=1, max_view=2 * f + 2, base_timeout=view_timeout)
    return PBFTReplica(config)


# ------------------------------------------------------------------ child
def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


async def _node(args: argparse.Namespace) -> None:
    protocol = build(args.child, args.agents, args.seed)
    transport = TcpTransport(protocol, args.group.split(","))
    _, port = await transport.start()
    _emit({"port": port, "pid": os.getpid()})
    line = await asyncio.to_thread(sys.stdin.readline)
    if not line:
        await transport.close()
        raise SystemExit("no address book from the parent")
    transport.connect({agent: (host, port) for agent, (host, port) in json.loads(line).items()})
    result = await run_node(protocol, transport, timeout=args.timeout)
    _emit({"pid": os.getpid(), "agents": sorted(transport.local), "status": result.status,
           "decisions": {a: [str(d.value) for d in ds] for a, ds in sorted(result.decisions.items())},
           "seconds": round(result.duration, 4), "sent": result.messages.sent,
           "frames_sent": transport.frames_sent, "frames_received": transport.frames_received,
           "rejected": result.rejected, "timed_out": result.timed_out})


# ------------------------------------------------------------------ parent
def run_scenario(scenario: str, agents: int, processes: int, timeout: float, seed: int) -> bool:
    protocol = build(scenario, agents, seed)
    groups = split(protocol.agents, processes)
    started = time.perf_counter()
    children = [subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", scenario, "--agents", str(agents),
         "--group", ",".join(group), "--seed", str(seed), "--timeout", str(timeout)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for group in groups]
    watchdog = threading.Timer(timeout + 30.0, lambda: [c.kill() for c in children])  # start-up + run + slack
    watchdog.start()
    try:
        hello = [_read(c) for c in children]
        book = address_book(groups, [("127.0.0.1", h["port"]) if h else ("127.0.0.1", 1) for h in hello])
        for child in children:
            child.stdin.write(json.dumps(book) + "\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
        reports = [_read(c) if h else None for c, h in zip(children, hello)]
        codes = [c.wait() for c in children]
    finally:
        watchdog.cancel()
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()
    elapsed = time.perf_counter() - started
    print(f"== {scenario}: {agents} agents in {processes} processes "
          f"({'Ed25519-signed PBFT' if scenario == 'pbft' else 'majority vote'})")
    decisions: dict[str, list[str]] = {}
    ok = True
    for k, (group, report, code) in enumerate(zip(groups, reports, codes)):
        if report is None or code != 0:
            print(f"  process {k} {','.join(group)}: FAILED (exit code {code})")
            ok = False
            continue
        decisions.update(report["decisions"])
        values = sorted({v for vs in report["decisions"].values() for v in vs})
        print(f"  process {k} pid {report['pid']} agents {','.join(report['agents'])}: {report['status']}, "
              f"decided {values or '-'} in {report['seconds']:.3f}s, {report['frames_sent']} frames out, "
              f"{report['frames_received']} in, rejected {report['rejected'] or '{}'}")
    agreed, value = cluster_agreement(protocol, decisions)
    undecided = [a for a in protocol.agents if not decisions.get(a)]
    ok = ok and agreed and not undecided
    print(f"  agreement across processes: {'yes' if agreed else 'NO'}; value {value!r}; "
          f"undecided {undecided or 'none'}; {elapsed:.2f}s with process start-up")
    return ok


def _read(child: subprocess.Popen[str]) -> dict[str, Any] | None:
    line = child.stdout.readline() if child.stdout is not None else ""
    return json.loads(line) if line.strip() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4, help="OS processes (each hosts some agents)")
    parser.add_argument("--voters", type=int, default=8, help="agents in the majority vote")
    parser.add_argument("--replicas", type=int, default=4, choices=(4, 7), help="PBFT replicas")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds each process may run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--agents", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        asyncio.run(_node(args))
        return 0
    if not 1 <= args.processes <= min(args.voters, args.replicas):
        parser.error("--processes must be between 1 and the number of agents of each scenario")
    results = [run_scenario("majority", args.voters, args.processes, args.timeout, args.seed),
               run_scenario("pbft", args.replicas, args.processes, args.timeout, args.seed)]
    print("all processes agreed" if all(results) else "FAILED: a scenario did not reach agreement")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
