"""One fault run: node processes over TLS through loopback proxies, faults on a schedule, then the replay.

Why a schedule and not chance: a run is bounded in time and in faults and
says exactly what it did, so a failure can be reproduced. :func:`run_faults`
generates the cluster's keys, starts a :class:`~mabeam.faults.proxy.Proxy`
link per directed pair of node processes, starts the nodes
(:mod:`mabeam.faults.node`), releases them together and then applies the
:class:`FaultPlan`: links slowed, a partition cut and healed, nodes killed
with SIGKILL (and, for a protocol with durable state, restarted from their
store), and the spoofing outsider (:mod:`mabeam.faults.outsider`) sent at the
nodes that stay up. When the nodes have stopped, the checker
(:mod:`mabeam.faults.replay`) judges their logs. Loopback only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigurationError
from ..core.messages import Message
from ..runtime.cluster import split
from ..runtime.keygen import ClusterKeys, generate_cluster, write_cluster
from .builds import CLIENT, REQUEST_VALUE, agents_of, build, default_agents, machine_class, signed
from .log import NodeLog
from .outsider import OutsiderReport, spoof
from .proxy import Proxy
from .replay import Replay, replay

SESSION = "s0"
#: the most node processes a run starts (a larger membership is dealt round-robin over them)
MAX_PROCESSES = 5
#: how long a node process may take to start listening, and to stop after the run's end
START_DEADLINE = 60.0
STOP_DEADLINE = 30.0


@dataclass(frozen=True)
class FaultPlan:
    """What happens when, in seconds after the nodes are released.

    ``delay`` = (from, until, seconds added to every link), ``partition`` = (from, until,
    groups of node indices; a node in no group is cut from every other), ``kills`` =
    (node, at, restart at or ``None``: stays down), ``spoof_at``: when the outsider tries.
    """

    duration: float = 5.0
    delay: tuple[float, float, float] | None = (0.0, 2.0, 0.05)
    partition: tuple[float, float, tuple[tuple[int, ...], ...]] | None = None
    kills: tuple[tuple[int, float, float | None], ...] = ()
    spoof_at: float | None = 0.5

    def validate(self, nodes: int) -> FaultPlan:
        if not 0 < self.duration <= 120:
            raise ConfigurationError(f"a fault run lasts 0 to 120 seconds, not {self.duration!r}")
        for node, at, restart in self.kills:
            if not 0 <= node < nodes or not 0 <= at < self.duration or (restart is not None and restart <= at):
                raise ConfigurationError(f"bad kill {(node, at, restart)!r} for {nodes} nodes")
        if self.partition is not None and any(not 0 <= i < nodes for g in self.partition[2] for i in g):
            raise ConfigurationError(f"the partition names a node outside 0..{nodes - 1}")
        return self

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def default_plan(protocol: str, nodes: int, durable: bool) -> FaultPlan:
    """Slow links, the last node cut off and healed, one kill (restarted if the protocol keeps durable state).

    A node of a protocol without durable state would come back as an amnesiac, which is a fault
    outside its model (a crash is forever there), so that node stays down.
    """
    victim = 0 if protocol == "pbft" else 1  # PBFT: the primary of view 0
    return FaultPlan(duration=5.0, delay=(0.0, 2.0, 0.05),
                     partition=(0.05, 1.5, (tuple(range(nodes - 1)),)),
                     kills=((victim, 0.1, 1.0 if durable else None),), spoof_at=0.5)


@dataclass
class FaultReport:
    """A fault run: what was done, what the nodes said, and what the replay of their logs found."""

    protocol: str
    agents: int
    nodes: list[list[str]]
    mutants: dict[int, str]
    plan: dict[str, Any]
    replay: Replay
    outsider: OutsiderReport
    exits: list[list[int | None]]
    errors: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def safe(self) -> bool:
        return not self.replay.violations()

    @property
    def signatures_ok(self) -> bool:
        """Every signed message a node logged verifies under the public keys alone."""
        return self.replay.signatures_valid == self.replay.signed

    @property
    def ok(self) -> bool:
        """Safe, every spoofing attempt refused and counted, every logged signature valid, no node error."""
        return self.safe and self.spoofing_refused and self.signatures_ok and not self.errors

    @property
    def spoofing_refused(self) -> bool:
        """No outsider connection got through, and the nodes counted a refusal per attempt and per spoofed frame."""
        refused = sum(n for reason, n in self.replay.rejected.items() if reason.startswith("handshake"))
        return (self.outsider.got_through == 0 and refused >= self.outsider.attempts
                and self.replay.rejected.get("spoofed-sender", 0) >= self.outsider.impersonated_frames)

    def to_json(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "agents": self.agents, "nodes": self.nodes,
                "mutants": {str(k): v for k, v in self.mutants.items()}, "plan": self.plan,
                "safe": self.safe, "violations": self.replay.violations(),
                "spoofing_refused": self.spoofing_refused, "signatures_ok": self.signatures_ok, "ok": self.ok,
                "outsider": self.outsider.to_json(),
                "replay": self.replay.to_json(), "exits": self.exits, "errors": self.errors,
                "wall_seconds": round(self.wall_seconds, 2)}


class _Run:
    """The processes, proxies and files of one run (see :func:`run_faults`)."""

    def __init__(self, protocol: str, n: int, work: Path, mutants: Mapping[int, str], inputs: str,
                 plan: FaultPlan) -> None:
        self.protocol, self.n, self.work, self.inputs, self.plan = protocol, n, work, inputs, plan
        self.agents = agents_of(protocol, n)
        self.groups = split(self.agents, min(len(self.agents), MAX_PROCESSES))
        self.plan.validate(len(self.groups))
        self.mutants = dict(mutants)
        self.keys: ClusterKeys = generate_cluster(self.agents, (CLIENT,) if protocol == "pbft" else ())
        write_cluster(self.keys, work / "keys")
        self.request: Message | None = None
        if protocol == "pbft":
            from ..protocols.pbft import signed_requests

            self.request = signed_requests(self.keys.authenticator((CLIENT,)), SESSION,
                                           [(CLIENT, REQUEST_VALUE)])[0]
        self.ports = [0 for _ in self.groups]  # each node binds port 0 and reports its port when it starts
        self.proxy = Proxy(self.ports)
        self.processes: list[list[asyncio.subprocess.Process]] = [[] for _ in self.groups]
        self.errors: list[str] = []
        self.harness_log = NodeLog(work / "harness.jsonl", 0)

    def verifier_auth(self) -> Any:
        return self.keys.authenticator(()) if signed(self.protocol) else None

    def log_path(self, node: int) -> Path:
        return self.work / f"node{node}.jsonl"

    def spec(self, node: int, incarnation: int, end_at: float | None) -> Path:
        own = self.groups[node]
        book = {a: ["127.0.0.1", self.proxy.port(node, q)]
                for q, group in enumerate(self.groups) if q != node for a in group}
        spec = {"protocol": self.protocol, "n": self.n, "inputs": self.inputs, "keys": str(self.work / "keys"),
                "request": self.request.canonical().hex() if self.request is not None else None,
                "local": list(own), "mutant": self.mutants.get(node), "port": 0, "book": book,
                "log": str(self.log_path(node)), "store": str(self.work / f"node{node}.sqlite"),
                "incarnation": incarnation, "end_at": end_at}
        path = self.work / f"node{node}.{incarnation}.json"
        path.write_text(json.dumps(spec))
        return path

    async def spawn(self, node: int, end_at: float | None) -> asyncio.subprocess.Process:
        incarnation = len(self.processes[node])
        import mabeam

        root = str(Path(mabeam.__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        with open(self.stderr_path(node, incarnation), "wb") as errors:  # a file: a chatty node never blocks
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mabeam.faults.node", str(self.spec(node, incarnation, end_at)),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=errors, env=env)
        self.processes[node].append(process)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_DEADLINE)
        if not line:
            await process.wait()
            raise ConfigurationError(f"node {node} did not start: {self.stderr_tail(node, incarnation)}")
        # Why port 0 and not a port picked here: a port probed free and released can be taken by any other
        # process before the node binds it (seen in CI: EADDRINUSE). The proxy learns the real one.
        self.ports[node] = int(json.loads(line)["port"])
        self.proxy.retarget(node, self.ports[node])
        return process

    def stderr_path(self, node: int, incarnation: int) -> Path:
        return self.work / f"node{node}.{incarnation}.stderr"

    def stderr_tail(self, node: int, incarnation: int) -> str:
        return self.stderr_path(node, incarnation).read_text(errors="replace")[-1500:]

    def kill(self, node: int) -> None:
        process = self.processes[node][-1]
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
        self.harness_log.write("kill", None, f"kill -9 node {node}", local=list(self.groups[node]))

    async def schedule(self, t0: float, end_at: float, outsider: OutsiderReport) -> None:
        """Why: every fault of the plan as one task at its time; returns when the last one is done."""
        plan, proxy = self.plan, self.proxy
        loop_t0 = asyncio.get_running_loop().time() - (time.monotonic() - t0)

        async def at(seconds: float) -> None:
            await asyncio.sleep(max(0.0, loop_t0 + seconds - asyncio.get_running_loop().time()))

        async def delay() -> None:
            assert plan.delay is not None
            start, until, seconds = plan.delay
            await at(start)
            proxy.slow(seconds)
            await at(until)
            proxy.slow(0.0)

        async def partition() -> None:
            assert plan.partition is not None
            start, until, groups = plan.partition
            await at(start)
            proxy.partition([list(g) for g in groups])
            self.harness_log.write("partition", None, f"partition {groups}")
            await at(until)
            proxy.heal()
            self.harness_log.write("heal", None, "healed")

        async def kill(node: int, when: float, restart: float | None) -> None:
            await at(when)
            self.kill(node)
            if restart is not None:
                await at(restart)
                await self.spawn(node, end_at)

        async def outsider_attempts() -> None:
            assert plan.spoof_at is not None
            await at(plan.spoof_at)
            killed = {node for node, _, _ in plan.kills}
            principals = (*self.agents, CLIENT) if self.protocol == "pbft" else self.agents
            forger = build(self.protocol, self.n, auth=_symbolic(principals), request=self._forged_request())
            targets = {i: (self.ports[i], self.groups[(i + 1) % len(self.groups)][0], self.groups[i][0])
                       for i in range(len(self.groups)) if i not in killed}
            await spoof(forger, SESSION, targets, outsider, self.keys)

        jobs = [kill(*k) for k in plan.kills]
        jobs += [delay()] if plan.delay else []
        jobs += [partition()] if plan.partition else []
        jobs += [outsider_attempts()] if plan.spoof_at is not None else []
        await asyncio.gather(*jobs)

    def _forged_request(self) -> Message | None:
        if self.protocol != "pbft":
            return None
        from ..protocols.pbft import signed_requests

        return signed_requests(_symbolic((*self.agents, CLIENT)), SESSION, [(CLIENT, "forged")])[0]

    async def wait_all(self, end_at: float) -> list[list[int | None]]:
        deadline = end_at + STOP_DEADLINE
        for node, incarnations in enumerate(self.processes):
            for k, process in enumerate(incarnations):
                try:
                    await asyncio.wait_for(process.wait(), max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    process.kill()
                    await process.wait()
                    self.errors.append(f"node {node} incarnation {k} did not stop by the deadline: killed")
                if process.returncode not in (0, -signal.SIGKILL):
                    self.errors.append(f"node {node} incarnation {k} exited {process.returncode}: "
                                       f"{self.stderr_tail(node, k)}")
        return [[p.returncode for p in incarnations] for incarnations in self.processes]


def _symbolic(principals: tuple[str, ...]) -> Any:
    from ..core.auth import SymbolicAuthenticator

    return SymbolicAuthenticator(principals, seed=SESSION)


async def run_faults_async(protocol: str, agents: int | None = None, *, plan: FaultPlan | None = None,
                           mutants: Mapping[int, str] | None = None, inputs: str = "clear",
                           work: str | Path | None = None) -> FaultReport:
    """Why: the run's whole life, in order; see :func:`run_faults`."""
    n = default_agents(protocol) if agents is None else agents
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mabeam-faults-") as scratch:
        folder = Path(work) if work is not None else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        groups = split(agents_of(protocol, n), min(n, MAX_PROCESSES))
        durable = machine_class(protocol, None).durable_type is not None
        run = _Run(protocol, n, folder, mutants or {}, inputs,
                   plan if plan is not None else default_plan(protocol, len(groups), durable))
        await run.proxy.start()
        outsider = OutsiderReport()
        try:
            await asyncio.gather(*(run.spawn(node, None) for node in range(len(run.groups))))
            if run.plan.partition is not None and run.plan.partition[0] <= 0:  # cut before anyone speaks
                run.proxy.partition([list(g) for g in run.plan.partition[2]])
            t0 = time.monotonic()
            end_at = t0 + run.plan.duration
            for incarnations in run.processes:
                stdin = incarnations[0].stdin
                assert stdin is not None
                stdin.write(f"go {end_at}\n".encode())
                await stdin.drain()
            run.harness_log.write("go", None, f"released {len(run.groups)} nodes")
            await run.schedule(t0, end_at, outsider)
            exits = await run.wait_all(end_at)
        finally:
            for incarnations in run.processes:
                for process in incarnations:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
            await run.proxy.close()
            run.harness_log.close()
        verifier = build(protocol, n, auth=run.verifier_auth(), request=run.request, inputs=inputs)
        result = replay(verifier, [run.log_path(i) for i in range(len(run.groups))], folder / "harness.jsonl",
                        started=t0)
    return FaultReport(protocol, n, [list(g) for g in run.groups], dict(run.mutants), run.plan.to_json(), result,
                       outsider, exits, run.errors, time.perf_counter() - started)


def run_faults(protocol: str, agents: int | None = None, *, plan: FaultPlan | None = None,
               mutants: Mapping[int, str] | None = None, inputs: str = "clear",
               work: str | Path | None = None) -> FaultReport:
    """One fault run of ``protocol`` among ``agents`` (default: the protocol's fault-run size).

    ``plan`` (default :func:`default_plan`) says which faults happen when; ``mutants``
    maps node indices to a registered mutant that node runs instead of the protocol;
    ``inputs`` is ``"clear"`` (a winner exists) or ``"split"``; ``work`` keeps the logs,
    keys and stores in that folder (default: a temporary one, removed afterwards).
    """
    return asyncio.run(run_faults_async(protocol, agents, plan=plan, mutants=mutants, inputs=inputs, work=work))
