"""A majority vote and a PBFT consensus whose agents live in separate OS processes, over mutual TLS.

The parent first creates the cluster's key material in a temporary directory,
as a deployer would with ``mabeam keygen``: a CA, a TLS certificate and key per
agent, an Ed25519 signing key per agent and for the client. As the client, it
signs the PBFT request with the client's key. Then it starts one child process
per group of agents. Each child loads only the public material and its own
agents' private keys, builds the same protocol instance, listens on an
ephemeral localhost port and reports it; the parent sends every child the
address book (agent -> host, port); each child then runs its agents with an
AsyncRuntime over a TLS TcpTransport until they have decided and reports its
decisions. Every connection is authenticated by certificate; PBFT messages
also carry Ed25519 signatures made with keys no other process holds. The
parent prints each process's decisions and whether all processes agree, and
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
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mabeam.core import Membership, MessageCodec, Protocol
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.pbft import PBFTConfig, PBFTReplica, Request, signed_requests
from mabeam.runtime import (
    TcpTransport,
    address_book,
    cluster_agreement,
    generate_cluster,
    load_cluster,
    run_node,
    split,
    write_cluster,
)

SCENARIOS = ("majority", "pbft")
PROPOSAL = "block-42"
CLIENT = "client"


def session_of(scenario: str, seed: int) -> str:
    return f"tcp-{scenario}-{seed}"


def build(scenario: str, agents: int, seed: int, keys_dir: Path, local: tuple[str, ...],
          request: Request | None = None, view_timeout: float = 2.0) -> Protocol:
    """The protocol instance every process rebuilds identically: public inputs, public keys, own private keys."""
    membership = Membership.of_size(agents)
    session = session_of(scenario, seed)
    if scenario == "majority":  # every third agent votes x, the rest (a strict majority) y
        return MajorityVoting(membership, {a: ("x" if i % 3 == 0 else "y") for i, a in enumerate(membership)},
                              session=session)
    assert request is not None, "PBFT replicas are handed the client's signed request"
    auth = load_cluster(keys_dir, local).authenticator(local)  # every public key; only our own private keys
    f = (agents - 1) // 3
    config = PBFTConfig(membership=membership, f=f, auth=auth, requesters=(CLIENT,), requests=(request,),
                        session=session, max_seq=1, max_view=2 * f + 2, base_timeout=view_timeout)
    return PBFTReplica(config)


def client_request(keys_dir: Path, scenario_seed: int) -> Request:
    """The client signs its proposal with its own key (the only process that holds it)."""
    auth = load_cluster(keys_dir, (CLIENT,)).authenticator((CLIENT,))
    return signed_requests(auth, session_of("pbft", scenario_seed), [(CLIENT, PROPOSAL)])[0]


def make_keys(keys_dir: Path, agents: int) -> None:
    """What ``mabeam keygen --agents a0,... --clients client --out DIR`` writes."""
    write_cluster(generate_cluster(Membership.of_size(agents).agents, (CLIENT,)), keys_dir)


# ------------------------------------------------------------------ child
def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, sort_keys=True) + "\n")
    sys.stdout.flush()


async def _node(args: argparse.Namespace) -> None:
    keys_dir = Path(args.keys)
    local = tuple(args.group.split(","))
    request = None
    if args.request:
        request = MessageCodec((Request,)).decode(bytes.fromhex(args.request))  # type: ignore[assignment]
    protocol = build(args.child, args.agents, args.seed, keys_dir, local, request)
    tls = load_cluster(keys_dir, local).tls_credentials(local)
    transport = TcpTransport(protocol, local, tls=tls)
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
    with tempfile.TemporaryDirectory(prefix="mabeam-keys-") as directory:
        return _run_scenario(scenario, agents, processes, timeout, seed, Path(directory) / "cluster")


def _run_scenario(scenario: str, agents: int, processes: int, timeout: float, seed: int, keys_dir: Path) -> bool:
    make_keys(keys_dir, agents)
    request = client_request(keys_dir, seed) if scenario == "pbft" else None
    protocol = build(scenario, agents, seed, keys_dir, (), request)  # the parent only verifies
    groups = split(protocol.agents, processes)
    started = time.perf_counter()
    extra = ["--request", request.canonical().hex()] if request is not None else []
    children = [subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", scenario, "--agents", str(agents),
         "--group", ",".join(group), "--seed", str(seed), "--timeout", str(timeout), "--keys", str(keys_dir),
         *extra],
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
          f"({'Ed25519-signed PBFT' if scenario == 'pbft' else 'majority vote'} over mutual TLS 1.3)")
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
    parser.add_argument("--keys", help=argparse.SUPPRESS)
    parser.add_argument("--request", help=argparse.SUPPRESS)
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
