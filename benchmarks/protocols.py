"""Performance of every protocol: latency percentiles, throughput, messages per decision, peak memory.

    python benchmarks/protocols.py                 # the full suite (a few minutes)
    python benchmarks/protocols.py --quick         # small sizes, few seeds (seconds)
    python benchmarks/protocols.py --protocols majority pbft --sizes 4 13 --runs 9

Prints one JSON object ``{"results": [...], "machine": {...}, "notes": [...]}``.
Each row is one (protocol, driver, agents): ``runs`` sessions run back to back with
seeds 0..runs-1 through the public API (:mod:`mabeam.api.session`,
:func:`mabeam.api.adaptive.run_adaptive_coordination`, :func:`mabeam.api.pipeline.run_pipeline`),
then one more session under ``tracemalloc`` for the peak memory. Every session must
decide with agreement and no violated property, or the benchmark stops with an error.

:func:`run_session` is the uniform "run one session of protocol P with n agents"
used here and by ``examples/massive_scale_test.py`` and
``examples/long_running_stress_test.py``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``mabeam`` importable from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mabeam.api.adaptive import run_adaptive_coordination  # noqa: E402
from mabeam.attacks import make_attack  # noqa: E402
from mabeam.core.identity import Membership  # noqa: E402
from mabeam.live.network import Latency, NetworkModel  # noqa: E402
from mabeam.api.pipeline import ConsensusLevel, RefinementLevel, WeightedLevel, run_pipeline  # noqa: E402
from mabeam.protocols.iterative.categorical import CategoricalRefinement  # noqa: E402
from mabeam.protocols.iterative.numeric import ApproximateAgreement  # noqa: E402
from mabeam.api.session import (  # noqa: E402
    run_protocol, start_byzantine_consensus, start_majority_vote, start_weighted_vote,
)

PROTOCOLS = ("majority", "weighted", "pbft", "iterative", "iterative-categorical", "adaptive", "pipeline")
DRIVERS = ("simulator", "runtime")
SIZES = (4, 13, 31)
QUICK_SIZES = (4, 7)
SIM_NETWORK = NetworkModel(latency=Latency.uniform(0.001, 0.005))
VIEW_TIMEOUT = 30.0  # far above any fault-free decision time: no spurious PBFT view changes
RUNTIME_TIMEOUT = 60.0
ITERATIVE_EPSILON = Fraction(1, 8)  # domain [0, 1]: 3 rounds of trimmed midpoints
GRACE = 0.2  # iterative grace timer (seconds) once n - f round values are in


# ------------------------------------------------------------------ one session
@dataclass(frozen=True)
class Faults:
    """Faults injected into one session: crash times and Byzantine attacks by agent."""

    crashes: Mapping[str, float] = field(default_factory=dict)
    byzantine: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """What one session did, in one shape for every protocol."""

    protocol: str
    agents: int
    driver: str
    seed: int
    status: str  # decided | no-decision | partial | violated
    agreement: bool
    value: Any
    latency: float  # to the last honest decision: virtual s (simulator) or wall s since start (runtime)
    wall: float  # wall seconds of the whole call, setup included
    messages: int  # point-to-point messages sent
    verdicts: dict[str, str]  # property id -> holds / violated / reached / unreached / ...

    @property
    def violated(self) -> list[str]:
        return sorted(pid for pid, status in self.verdicts.items() if status == "violated")

    @property
    def ok(self) -> bool:
        return self.status == "decided" and self.agreement and not self.violated

    def deterministic(self) -> dict[str, Any]:
        """Every field but wall time: equal across runs with the same seed in the simulator."""
        return {"protocol": self.protocol, "agents": self.agents, "seed": self.seed, "status": self.status,
                "agreement": self.agreement, "value": str(self.value), "latency": self.latency,
                "messages": self.messages, "verdicts": dict(sorted(self.verdicts.items()))}


def agents_of(n: int) -> tuple[str, ...]:
    return Membership.of_size(n).agents


def _last_decision(run: Any, fallback: float) -> float:
    times = [d.at for a, ds in run.decisions.items() if a not in run.byzantine for d in ds]
    return max(times, default=fallback)


def _verdicts(properties: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    return {pid: str(v["status"]) for pid, v in properties.items()}


def _run_result(protocol: str, n: int, driver: str, seed: int, run: Any, started: float) -> Outcome:
    return Outcome(protocol, n, driver, seed, run.status, run.agreement, run.decided_value,
                   _last_decision(run, run.duration), time.perf_counter() - started, run.messages.sent,
                   _verdicts(run.properties))


def ballots(agents: tuple[str, ...], seed: int) -> dict[str, str]:
    """Four in five agents back plan-A: a clear winner under every vote rule, seed-independent share."""
    return {a: ("plan-B" if (i + seed) % 5 == 0 else "plan-A") for i, a in enumerate(agents)}


def weighted_ballots(weights: Mapping[str, int], seed: int) -> dict[str, str]:
    """Only some weight-1 agents back plan-B, so plan-A holds over 2/3 of the weight at every size."""
    return {a: ("plan-B" if w == 1 and (i + seed) % 2 == 0 else "plan-A")
            for i, (a, w) in enumerate(weights.items())}


def expertise(agents: tuple[str, ...]) -> dict[str, int]:
    """Heterogeneous weights: gpu 5, memory 3, cpu 2, network 2, general 1 (20/20/30/10/20 %)."""
    kinds = (5, 3, 2, 2, 2, 1, 5, 3, 1, 2)
    return {a: kinds[i % len(kinds)] for i, a in enumerate(agents)}


def run_session(protocol: str, n: int, *, driver: str = "simulator", seed: int = 0,
                network: NetworkModel | None = None, faults: Faults | None = None,
                fast: bool = True, timeout: float | None = None) -> Outcome:
    """One session of ``protocol`` among ``n`` agents through the public API.

    ``fast`` stops once every honest agent decided and checks properties once at
    the end (the figures are the protocol's, not the monitor's); ``fast=False``
    runs to quiescence with the live monitor's default schedule, so liveness and
    reachability verdicts are judged too. ``timeout`` bounds virtual seconds in the
    simulator (``None``: to quiescence) and wall seconds in the runtime.
    """
    faults = faults or Faults()
    agents = agents_of(n)
    if driver == "runtime" and timeout is None:
        timeout = RUNTIME_TIMEOUT
    options: dict[str, Any] = {"stop_when_decided": True, "monitor": "end"} if fast else {}
    started = time.perf_counter()
    if protocol in ("majority", "weighted", "iterative", "iterative-categorical"):
        crashes = dict(faults.crashes)
        if protocol == "majority":
            run = start_majority_vote(ballots(agents, seed), driver=driver, network=network, seed=seed,
                                      timeout=timeout, crashes=crashes, **options)  # type: ignore[arg-type]
        elif protocol == "weighted":
            weights = expertise(agents)
            run = start_weighted_vote(weighted_ballots(weights, seed), weights, driver=driver,  # type: ignore[arg-type]
                                      network=network, seed=seed, timeout=timeout, crashes=crashes,
                                      max_faulty_weight=sum(weights[a] for a in crashes), **options)
        elif protocol == "iterative":
            inputs = {a: (Fraction((i * 7 + seed) % 11, 10),) for i, a in enumerate(agents)}  # in [0, 1]
            machine = ApproximateAgreement(Membership(agents), inputs, (n - 1) // 3, (0, 1), ITERATIVE_EPSILON,
                                           grace=GRACE)
            run = run_protocol(machine, driver, network=network, seed=seed,  # type: ignore[arg-type]
                               timeout=timeout, crashes=crashes, byzantine=_attacks(machine, faults),
                               **options)
        else:
            answers = {a: (("x", 2) if (i + seed) % 3 else ("y", 1)) for i, a in enumerate(agents)}
            machine = CategoricalRefinement(Membership(agents), answers, ("x", "y", "z"), (n - 1) // 3)
            run = run_protocol(machine, driver, network=network, seed=seed,  # type: ignore[arg-type]
                               timeout=timeout, crashes=crashes, **options)
        return _run_result(protocol, n, driver, seed, run, started)
    if protocol == "pbft":
        run = start_byzantine_consensus(
            "plan-A", agents, driver=driver, network=network, seed=seed,  # type: ignore[arg-type]
            timeout=timeout, byzantine=dict(faults.byzantine), crashes=dict(faults.crashes),
            view_timeout=VIEW_TIMEOUT if not faults.byzantine else 0.5, authentication="ed25519", **options)
        return _run_result(protocol, n, driver, seed, run, started)
    if protocol == "adaptive":
        weights = expertise(agents)
        result = run_adaptive_coordination(
            weighted_ballots(weights, seed), weights=weights, driver=driver,  # type: ignore[arg-type]
            network=network, seed=seed, crashes=dict(faults.crashes),
            byzantine=dict(faults.byzantine), deadline=5.0)
        run = result.run
        return Outcome(protocol, n, driver, seed, result.status, run.agreement, result.value,
                       _last_decision(run, result.duration), time.perf_counter() - started, run.messages.sent,
                       _verdicts(result.properties))
    if protocol == "pipeline":
        return _pipeline(n, driver, seed, faults, started)
    raise ValueError(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")


def _attacks(machine: Any, faults: Faults) -> dict[str, Any]:
    """Byzantine strategies (generic attacks such as silent or delaying) for a non-PBFT protocol."""
    return {agent: make_attack(name, agent, machine) for agent, name in faults.byzantine.items()}


def _pipeline(n: int, driver: str, seed: int, faults: Faults, started: float) -> Outcome:
    """Three levels of ``n`` agents each: PBFT on a plan, a weighted vote on it, refinement of its budget.

    The attacks named in ``faults.byzantine`` (its keys are ignored) are played, in order, by the
    last members of each level, up to the level's bound: f for PBFT and refinement, and for the
    weighted level the lightest members whose total weight stays under a third.
    """
    f = (n - 1) // 3
    attacks = list(faults.byzantine.values())
    leads, evaluators, tuners = (tuple(f"{tier}{i}" for i in range(n)) for tier in ("lead", "eval", "tune"))
    weights = expertise(evaluators)
    f_weighted = _weighted_bound(weights, f)
    lightest = sorted(evaluators, key=lambda a: (weights[a], a))

    def bad(members: list[str] | tuple[str, ...], bound: int) -> dict[str, str]:
        return dict(zip(members[:bound], attacks))

    levels = [
        ConsensusLevel("leads", leads, f, lambda _: "plan-A", byzantine=bad(leads[::-1], f)),
        WeightedLevel("evaluators", weights, f_weighted, lambda plan: {a: plan for a in evaluators},
                      byzantine=bad(lightest, f_weighted)),
        RefinementLevel("tuners", tuners, f, lambda _: {a: (Fraction(i % 9, 10),) for i, a in enumerate(tuners)},
                        (0, 1), 3, byzantine=bad(tuners[::-1], f)),
    ]
    report = run_pipeline(levels, driver=driver, seed=seed, session=f"bench-{seed}")  # type: ignore[arg-type]
    runs = [lv.run for lv in report.levels]
    status = "decided" if all(r.status == "decided" for r in runs) else \
        "violated" if any(r.status == "violated" for r in runs) else "no-decision"
    verdicts = {f"L{lv.level}:{pid}": s for lv in report.levels for pid, s in lv.properties.items()}
    return Outcome("pipeline", n, driver, seed, status, all(r.agreement for r in runs), report.output,
                   sum(_last_decision(r, r.duration) for r in runs), time.perf_counter() - started,
                   sum(r.messages.sent for r in runs), verdicts)


def _weighted_bound(weights: Mapping[str, int], f: int) -> int:
    """The largest f' <= f whose f' heaviest members weigh under a third of the total."""
    ordered = sorted(weights.values(), reverse=True)
    total = sum(ordered)
    while f and 3 * sum(ordered[:f]) >= total:
        f -= 1
    return f


# ------------------------------------------------------------------ measuring
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]); with few runs p95/p99 are the slowest run."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def peak_memory(protocol: str, n: int, driver: str, seed: int, network: NetworkModel | None) -> float:
    """Peak Python allocation (MiB) of one more session, traced on its own."""
    gc.collect()
    tracemalloc.start()
    try:
        run_session(protocol, n, driver=driver, seed=seed, network=network)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def measure(protocol: str, n: int, driver: str, runs: int) -> dict[str, Any]:
    network = SIM_NETWORK if driver == "simulator" else None
    run_session(protocol, n, driver=driver, seed=runs + 1, network=network)  # warm-up: imports, caches
    started = time.perf_counter()
    outcomes = [run_session(protocol, n, driver=driver, seed=seed, network=network) for seed in range(runs)]
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.ok]
    if failed:
        o = failed[0]
        raise RuntimeError(f"{protocol} n={n} {driver} seed={o.seed}: {o.status}, agreement {o.agreement}, "
                           f"violated {o.violated}")
    wall_ms = [o.wall * 1000 for o in outcomes]
    row: dict[str, Any] = {
        "protocol": protocol, "driver": driver, "agents": n, "runs": runs,
        "wall_p50_ms": round(statistics.median(wall_ms), 2), "wall_p95_ms": round(percentile(wall_ms, 95), 2),
        "wall_p99_ms": round(percentile(wall_ms, 99), 2),
        "throughput_sessions_per_s": round(runs / elapsed, 2),
        "messages_per_decision": statistics.median(o.messages for o in outcomes),
        "messages_per_agent": round(statistics.median(o.messages for o in outcomes) / n, 1),
        "peak_memory_mib": round(peak_memory(protocol, n, driver, runs, network), 2),
        "all_decided": True, "agreement": True,
    }
    latency_ms = [o.latency * 1000 for o in outcomes]
    prefix = "virtual" if driver == "simulator" else "decision"
    row.update({f"{prefix}_p50_ms": round(statistics.median(latency_ms), 3),
                f"{prefix}_p95_ms": round(percentile(latency_ms, 95), 3),
                f"{prefix}_p99_ms": round(percentile(latency_ms, 99), 3)})
    return row


def run_all(protocols: tuple[str, ...], sizes: tuple[int, ...], drivers: tuple[str, ...], runs: int,
            progress: bool = False) -> dict[str, Any]:
    results = []
    for protocol in protocols:
        for n in sizes:
            for driver in drivers:
                results.append(measure(protocol, n, driver, runs))
                if progress:
                    r = results[-1]
                    print(f"{protocol:<22} {driver:<9} n={n:<3} p50 {r['wall_p50_ms']:>9.2f} ms  "
                          f"{r['throughput_sessions_per_s']:>7.2f}/s  {r['messages_per_decision']:>7} msgs  "
                          f"{r['peak_memory_mib']:>7.2f} MiB", file=sys.stderr, flush=True)
    return {
        "benchmark": "protocols", "sizes": list(sizes), "runs": runs, "results": results,
        "machine": {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
                    "python": sys.version.split()[0]},
        "notes": [
            "wall_p*_ms: wall-clock ms per session call, setup included (keys, signatures, objects).",
            "virtual_p*_ms (simulator): virtual time to the last honest decision over uniform 1-5 ms links; "
            "decision_p*_ms (runtime): real time from the run's start to the last honest decision "
            "(asyncio, in-process links without added latency).",
            "throughput: sessions run back to back, one after another, per wall second (after one "
            "untimed warm-up session per row).",
            "messages_per_decision: median point-to-point messages of one session (pipeline: all levels).",
            "peak_memory_mib: tracemalloc peak of one extra session traced on its own.",
            "sessions stop once every honest agent decided; properties are checked once, at the end; "
            "PBFT signs with Ed25519; iterative runs 3 rounds (epsilon 1/8 on [0, 1]); "
            "pipeline = PBFT + weighted + 3-round refinement, n agents per level, each level on the "
            "library's default network (run_pipeline takes none: constant 1 ms links in the simulator).",
            "p95/p99 use nearest rank: with fewer than 20 runs they are the slowest run.",
        ],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--protocols", nargs="+", choices=PROTOCOLS, default=list(PROTOCOLS))
    parser.add_argument("--sizes", nargs="+", type=int, default=None)
    parser.add_argument("--drivers", nargs="+", choices=DRIVERS, default=list(DRIVERS))
    parser.add_argument("--runs", type=int, default=None, help="sessions per row (default 9, quick 3)")
    parser.add_argument("--quick", action="store_true", help="small sizes and 3 runs")
    parser.add_argument("--progress", action="store_true", help="one line per row on stderr")
    args = parser.parse_args(argv)
    sizes = tuple(args.sizes or (QUICK_SIZES if args.quick else SIZES))
    runs = args.runs or (3 if args.quick else 9)
    if runs < 1 or any(n < 4 for n in sizes):
        parser.error("--runs must be >= 1 and every size >= 4 (PBFT needs n >= 3f + 1 with f >= 1)")
    report = run_all(tuple(args.protocols), sizes, tuple(args.drivers), runs, args.progress)
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
