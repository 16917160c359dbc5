"""Measurements that run sessions in this process: latency, convergence, fairness, scale, recovery.

Every figure comes from real runs of the shipped protocols through the public
session API (:mod:`mabeam.lab.workloads`, :mod:`mabeam.api.session`); nothing
is estimated. Wall-clock figures depend on the machine; the report says which.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from fractions import Fraction
from typing import Any

from ...api.session import run_protocol, run_protocol_async, start_byzantine_consensus, start_weighted_vote
from ...attacks import make_attack
from ...core.identity import Membership
from ...core.rng import SeededRandom
from ...lab.workloads import run_session
from ...live.network import Latency, NetworkModel, Partition
from ...protocols.iterative import ApproximateAgreement, spread
from .context import Context

LATENCY_PROTOCOLS = ("majority", "weighted", "pbft", "iterative")
NETWORK = NetworkModel(latency=Latency.uniform(0.001, 0.005))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); with few runs p95 and p99 are the slowest run."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def _percentiles(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 4), "p95": round(percentile(values, 95), 4),
            "p99": round(percentile(values, 99), 4)}


def latency_curves(ctx: Context, advance: Any) -> dict[str, Any]:
    """Wall seconds per session (simulator) by protocol and size: the latency-vs-agents plot."""
    sizes = ctx.pick((4, 13, 50, 100), (4, 13, 50, 100, 200, 500))
    runs = ctx.pick(3, 9)
    rows = []
    for protocol in LATENCY_PROTOCOLS:
        for n in sizes:
            if protocol in ("pbft", "iterative") and n > 100:
                continue  # O(n^2) signed or per-round messages: beyond 100 agents a session costs seconds
            outcomes = [run_session(protocol, n, seed=seed, network=NETWORK) for seed in range(runs)]
            rows.append({"protocol": protocol, "agents": n, "runs": runs, "driver": "simulator",
                         "ok": all(o.ok for o in outcomes), **_percentiles([o.wall for o in outcomes])})
        advance(f"latency {protocol}")
    return {"rows": rows, "note": "wall seconds per session call in the simulator (1-5 ms uniform links), "
                                  "setup and Ed25519 signing included, stopping once every honest agent decided"}


def runtime_targets(ctx: Context, advance: Any) -> dict[str, Any]:
    """The seed's latency targets, in the live asyncio runtime: PBFT at 13 and 100, weighted at 50 and 200."""
    runs = ctx.pick(3, 5)
    rows = []
    for protocol, n in (("pbft", 13), ("pbft", 100), ("weighted", 50), ("weighted", 200)):
        outcomes = [run_session(protocol, n, driver="runtime", seed=seed) for seed in range(runs)]
        rows.append({"protocol": protocol, "agents": n, "runs": runs, "driver": "runtime",
                     "ok": all(o.ok for o in outcomes),
                     **_percentiles([o.wall for o in outcomes])})
        advance(f"runtime {protocol} {n} agents")
    return {"rows": rows}


def convergence(ctx: Context, advance: Any) -> dict[str, Any]:
    """Approximate agreement among 10 agents, 3 of them Byzantine: rounds to 90% convergence, time per round."""
    n, f = 10, 3
    agents = Membership.of_size(n).agents
    rows = []
    for seed in range(ctx.pick(3, 10)):
        rng = SeededRandom(seed)
        inputs = {a: (Fraction(rng.randrange(0, 1001), 1000),) for a in agents}
        machine = ApproximateAgreement(Membership(agents), inputs, f, (0, 1), Fraction(1, 1000), grace=0.05)
        attackers = agents[:f]
        kinds = ("equivocating", "forging", "delaying")
        byzantine = {a: make_attack(kinds[i % 3], a, machine) for i, a in enumerate(attackers)}
        honest = [a for a in agents if a not in attackers]
        started = time.perf_counter()
        run = run_protocol(machine, "runtime", seed=seed, timeout=60.0, byzantine=byzantine,
                           summarize=lambda states: {"states": dict(states)})
        wall = time.perf_counter() - started
        states = run.extras.pop("states")
        initial = max(spread([inputs[a] for a in honest]))
        per_round = []
        rounds = max((len(states[a].history) for a in honest if states[a] is not None), default=0)
        for r in range(rounds):
            values = [states[a].history[r].left for a in honest if states[a] is not None
                      and len(states[a].history) > r]
            per_round.append(float(max(spread(values)) / initial) if initial else 0.0)
        to_90 = next((r + 1 for r, s in enumerate(per_round) if s <= 0.1), None)
        rows.append({"seed": seed, "status": run.status, "agreement": run.agreement,
                     "violations": run.violations(), "rounds": rounds, "rounds_to_90": to_90,
                     "relative_spread": [round(s, 5) for s in per_round],
                     "seconds_per_round": round(wall / rounds, 4) if rounds else None, "wall_s": round(wall, 3)})
    advance("iterative convergence")
    return {"rows": rows, "n": n, "f": f, "epsilon": "1/1000 on [0, 1]",
            "attacks": "equivocating, forging, delaying"}


def weighted_fairness(ctx: Context, advance: Any) -> dict[str, Any]:
    """Seeded weighted votes: the decision must be the value holding more than 2/3 of the weight, or none."""
    rows, wrong = [], []
    agents9 = Membership.of_size(9).agents  # three heavy agents for x outweigh six light ones for y
    cases: list[tuple[int, dict[str, int], dict[str, str]]] = [
        (-1, {a: (9 if i < 3 else 1) for i, a in enumerate(agents9)},
         {a: ("x" if i < 3 else "y") for i, a in enumerate(agents9)})]
    for seed in range(ctx.pick(40, 200)):
        rng = SeededRandom(seed)
        agents = Membership.of_size(rng.randrange(4, 16)).agents
        favourite = rng.choice(("x", "y"))
        cases.append((seed, {a: rng.randrange(1, 10) for a in agents},
                      {a: (favourite if rng.random() < 0.75 else rng.choice(("x", "y", "z"))) for a in agents}))
    for seed, weights, inputs in cases:
        agents = tuple(weights)
        n = len(agents)
        total = sum(weights.values())
        backed = [v for v in "xyz" if 3 * sum(w for a, w in weights.items() if inputs[a] == v) > 2 * total]
        expected = backed[0] if backed else None
        heads = max("xyz", key=lambda v: sum(1 for a in agents if inputs[a] == v))
        run = start_weighted_vote(inputs, weights, seed=max(seed, 0), network=NETWORK)
        got = run.decided_value if run.status == "decided" else None
        row = {"seed": seed, "agents": n, "expected": expected, "decided": got, "head_count_winner": heads,
               "agreement": run.agreement, "violations": run.violations()}
        rows.append(row)
        if got != expected or not run.agreement or run.violations():
            wrong.append(row)
    advance("weighted fairness")
    return {"runs": len(rows), "wrong": wrong, "decided": sum(1 for r in rows if r["decided"] is not None),
            "no_quorum": sum(1 for r in rows if r["expected"] is None),
            "weight_beats_heads": sum(1 for r in rows if r["expected"] not in (None, r["head_count_winner"]))}


def scale(ctx: Context, advance: Any) -> dict[str, Any]:
    """Majority and weighted at 500 agents (and 1000 in the full run), lossy network, a healing partition."""
    rows = []
    for n in ctx.pick((500,), (500, 1000)):
        agents = Membership.of_size(n).agents
        network = NetworkModel(latency=Latency.lognormal(0.02, 0.5, floor=0.002), loss=0.01,
                               partitions=(Partition([agents[:n // 3], agents[n // 3:]], start=0.0, heal=0.5),))
        for protocol in ("majority", "weighted"):
            outcome = run_session(protocol, n, seed=1, network=network, fast=False)
            rows.append({"protocol": protocol, "agents": n, "status": outcome.status, "agreement": outcome.agreement,
                         "violated": outcome.violated, "wall_s": round(outcome.wall, 2),
                         "messages": outcome.messages})
        advance(f"scale {n} agents")
    return {"rows": rows, "network": "log-normal latency (median 20 ms), 1% loss, a third cut off until 0.5 s"}


async def _concurrent(k: int) -> list[Any]:
    agents = [Membership.of_size(7).agents for _ in range(k)]
    from ...protocols.majority import MajorityVoting

    machines = [MajorityVoting(Membership(a), {x: ("A" if j % 4 else "B") for j, x in enumerate(a)},
                               session=f"s{i}") for i, a in enumerate(agents)]
    return list(await asyncio.gather(*(run_protocol_async(m, seed=i, timeout=30.0) for i, m in enumerate(machines))))


def peak_rss_mib() -> float:
    """This process's peak resident memory: ``VmHWM`` on Linux (reset by exec, unlike ``ru_maxrss``,
    which a child inherits from the parent it was forked from), else ``ru_maxrss``."""
    import resource

    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def concurrent_sessions(k: int) -> dict[str, Any]:
    """``k`` sessions at once in one asyncio loop (run in a fresh process by :func:`memory`)."""
    import tracemalloc

    before = peak_rss_mib()
    tracemalloc.start()
    started = time.perf_counter()
    results = asyncio.run(_concurrent(k))
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    after = peak_rss_mib()
    return {"sessions": k, "decided": sum(1 for r in results if r.status == "decided"),
            "violations": sum(len(r.violations()) for r in results), "traced_peak_mib": round(peak, 2),
            "rss_before_mib": round(before, 1), "rss_peak_mib": round(after, 1), "wall_s": round(wall, 3)}


def memory(ctx: Context, advance: Any) -> dict[str, Any]:
    """Memory vs concurrent sessions, each size in a fresh process (so the resident figure is the run's own)."""
    import json
    import subprocess
    import sys

    rows = []
    for k in ctx.pick((1, 10, 50, 100), (1, 10, 50, 100, 200)):
        code = ("import json; from mabeam.cli.validation.live import concurrent_sessions; "
                f"print(json.dumps(concurrent_sessions({k})))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            rows.append({"sessions": k, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]})
        else:
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    advance("memory vs concurrent sessions")
    return {"rows": rows, "sessions_of": "majority among 7 agents, live asyncio runtime, all in one loop"}


def recovery(ctx: Context, advance: Any) -> dict[str, Any]:
    """A crashed PBFT primary: the group changes view and still decides."""
    run = start_byzantine_consensus("plan-A", 7, fault_tolerance=2, crashes={"a0": 0.0}, seed=3,
                                    authentication="symbolic")
    advance("recovery")
    return {"status": run.status, "value": run.decided_value, "view_changes": run.extras.get("view_changes"),
            "violations": run.violations()}


def consistency(ctx: Context, advance: Any) -> dict[str, Any]:
    """The same instances in the simulator and the runtime decide the same values."""
    rows = []
    for protocol, n in (("majority", 7), ("weighted", 10), ("pbft", 7), ("iterative-categorical", 7)):
        sim = run_session(protocol, n, seed=2)
        live = run_session(protocol, n, seed=2, driver="runtime")
        rows.append({"protocol": protocol, "agents": n, "simulator": str(sim.value), "runtime": str(live.value),
                     "same": sim.ok and live.ok and str(sim.value) == str(live.value)})
    advance("simulator vs runtime")
    return {"rows": rows}
