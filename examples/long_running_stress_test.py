"""Long-running coordination stress: thousands of consecutive sessions, watched for leaks and slowdowns.

Each session draws (from the seed) a protocol and size from a mix (majority,
weighted, PBFT, iterative, iterative-categorical, adaptive, hierarchical
pipeline), a network (latency 1-20 ms, sometimes 5 % loss or duplication,
sometimes a partition that heals) and, for half the sessions, faults within
the protocol's bound: crashes, or Byzantine attacks (PBFT: silent, equivocating,
delaying, forging, replaying; iterative and pipeline: silent, delaying). Most sessions run in
the seeded simulator; a share run on the live asyncio runtime (fault-free),
so event loops, tasks and timers are exercised too. Every run goes to
quiescence with the live property monitor on.

Every ``--window`` sessions it records RSS, tracemalloc's current traced memory
after a full collection, the number of live objects, and the sessions' wall
latency (normalised by the median of the same protocol and size, so the random
mix does not move it). It then fits lines through those windows (the first,
warm-up window left out) and judges:

- safety: no session violated a property or disagreed;
- success: at least 99.9 % of sessions decided (faults stay within bounds);
- memory: traced memory grows by less than ``MEMORY_SLOPE_LIMIT`` bytes per session;
- latency: the fitted normalised latency slows by less than ``LATENCY_DRIFT_LIMIT``
  from the first to the last window (getting faster is not a degradation).

    python examples/long_running_stress_test.py                  # 2000 sessions
    python examples/long_running_stress_test.py --minutes 30     # as many as fit in 30 minutes
    python examples/long_running_stress_test.py --quick --json out.json
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from mabeam.lab.workloads import Faults, Outcome, agents_of, expertise, run_session
from mabeam.live.network import Latency, NetworkModel, Partition

#: (protocol, agents) drawn uniformly per session
MIX = (("majority", 5), ("majority", 9), ("weighted", 7), ("pbft", 4), ("pbft", 7), ("iterative", 7),
       ("iterative-categorical", 7), ("adaptive", 7), ("pipeline", 4))
PBFT_ATTACKS = ("silent", "equivocating", "delaying", "forging", "replaying")
GENERIC_ATTACKS = ("silent", "delaying")  # attacks any protocol's node can play
MEMORY_SLOPE_LIMIT = 512.0  # bytes of traced memory per session (one leaked run result is several KiB)
LATENCY_DRIFT_LIMIT = 0.25  # relative change of the fitted normalised latency, first to last window
SUCCESS_LIMIT = 0.999


# ------------------------------------------------------------------ one session
def draw(seed: int, index: int, runtime_share: float, mix: tuple[tuple[str, int], ...] = MIX
         ) -> tuple[str, int, str, NetworkModel, Faults]:
    """The seeded plan of session ``index``: protocol, size, driver, network and faults."""
    rng = random.Random(f"stress/{seed}/{index}")
    protocol, n = rng.choice(mix)
    driver = "runtime" if rng.random() < runtime_share else "simulator"
    agents = agents_of(n)
    partitions: tuple[Partition, ...] = ()
    if driver == "simulator" and rng.random() < 0.25:
        cut = rng.randrange(1, n)
        partitions = (Partition([agents[:cut], agents[cut:]], start=0.0, heal=rng.uniform(0.05, 0.3)),)
    network = NetworkModel(latency=Latency.uniform(0.001, 0.02),
                           loss=rng.choice((0.0, 0.0, 0.05)) if driver == "simulator" else 0.0,
                           duplication=rng.choice((0.0, 0.0, 0.05)) if driver == "simulator" else 0.0,
                           retransmit_timeout=0.05, partitions=partitions)
    faults = Faults()
    if driver == "simulator" and rng.random() < 0.5:
        faults = _faults(rng, protocol, agents)
    return protocol, n, driver, network, faults


def _faults(rng: random.Random, protocol: str, agents: tuple[str, ...]) -> Faults:
    n = len(agents)
    f = (n - 1) // 3
    if protocol == "pbft":
        chosen = rng.sample(agents, rng.randint(1, f))
        return Faults(byzantine={a: rng.choice(PBFT_ATTACKS) for a in chosen})
    if protocol == "pipeline":
        return Faults(byzantine={f"x{i}": rng.choice(GENERIC_ATTACKS) for i in range(rng.randint(1, f))})
    if protocol == "iterative":  # Byzantine model: a faulty agent is silent or slow, not "crashed but honest"
        return Faults(byzantine={a: rng.choice(GENERIC_ATTACKS) for a in rng.sample(agents, rng.randint(1, f))})
    if protocol == "weighted":  # crash the lightest agents while their weight stays under a third
        weights = expertise(agents)
        crashed: list[str] = []
        for agent in sorted(agents, key=lambda a: (weights[a], rng.random())):
            if 3 * (sum(weights[c] for c in crashed) + weights[agent]) >= sum(weights.values()):
                break
            crashed.append(agent)
        crashed = crashed[:rng.randint(1, max(1, len(crashed)))] if crashed else []
        return Faults(crashes={a: rng.uniform(0.0, 0.05) for a in crashed})
    bound = (n - 1) // 2 if protocol == "majority" else f
    chosen = rng.sample(agents, rng.randint(1, bound)) if bound else []
    return Faults(crashes={a: rng.uniform(0.0, 0.05) for a in chosen})


class Record(NamedTuple):
    """What the analysis keeps of one session: small, so the harness's own records do not read as a leak."""

    protocol: str
    agents: int
    driver: str
    status: str
    agreement: bool
    wall: float
    violated: tuple[str, ...]
    seed: int

    @classmethod
    def of(cls, o: Outcome) -> Record:
        return cls(sys.intern(o.protocol), o.agents, sys.intern(o.driver), sys.intern(o.status), o.agreement,
                   o.wall, tuple(o.violated), o.seed)


def fingerprint(outcome: Outcome) -> dict[str, Any]:
    """What must repeat exactly for the same seed: everything for the simulator, the verdict for the runtime."""
    if outcome.driver == "simulator":
        return outcome.deterministic()
    return {"protocol": outcome.protocol, "agents": outcome.agents, "driver": "runtime",
            "status": outcome.status, "agreement": outcome.agreement, "value": str(outcome.value)}


# ------------------------------------------------------------------ windows and verdicts
def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def sample(done: int) -> dict[str, Any]:
    gc.collect()
    return {"sessions": done, "rss_mib": round(_rss_mib(), 2),
            "traced_mib": round(tracemalloc.get_traced_memory()[0] / 2**20, 3), "objects": len(gc.get_objects())}


def slope(xs: list[float], ys: list[float]) -> float:
    return float(np.polyfit(xs, ys, 1)[0]) if len(xs) >= 2 else 0.0


def analyse(outcomes: list[Record], windows: list[dict[str, Any]], window: int) -> dict[str, Any]:
    kinds: dict[tuple[str, int, str], list[float]] = {}
    for o in outcomes:
        kinds.setdefault((o.protocol, o.agents, o.driver), []).append(o.wall)
    medians = {k: statistics.median(v) for k, v in kinds.items()}
    ratios = [o.wall / medians[(o.protocol, o.agents, o.driver)] for o in outcomes]
    for i, w in enumerate(windows):
        chunk = ratios[i * window:(i + 1) * window]
        w["latency_ratio_median"] = round(statistics.median(chunk), 4) if chunk else None
    steady = windows[1:] if len(windows) > 2 else windows  # leave out the warm-up window
    xs = [w["sessions"] for w in steady]
    memory_slope = slope(xs, [w["traced_mib"] * 2**20 for w in steady])
    rss_slope = slope(xs, [w["rss_mib"] * 2**20 for w in steady])
    objects_slope = slope(xs, [w["objects"] for w in steady])
    lat = [(w["sessions"], w["latency_ratio_median"]) for w in steady if w["latency_ratio_median"] is not None]
    lat_slope = slope([x for x, _ in lat], [y for _, y in lat])
    first = _intercept(lat, lat_slope) if lat else 1.0
    drift = lat_slope * (lat[-1][0] - lat[0][0]) / first if len(lat) >= 2 and first > 0 else 0.0
    decided = sum(o.status == "decided" for o in outcomes) / len(outcomes) if outcomes else 0.0
    unsafe = [o for o in outcomes if o.violated or not o.agreement]
    checks = [
        ("no session violated a property or disagreed", not unsafe,
         f"{len(unsafe)} of {len(outcomes)}" + (f", first: {unsafe[0].protocol}/{unsafe[0].seed} "
                                                 f"{unsafe[0].violated}" if unsafe else "")),
        (f"at least {SUCCESS_LIMIT:.1%} of sessions decided", decided >= SUCCESS_LIMIT, f"{decided:.4%}"),
        (f"traced memory grows under {MEMORY_SLOPE_LIMIT:g} bytes per session", memory_slope < MEMORY_SLOPE_LIMIT,
         f"{memory_slope:.1f} bytes/session"),
        (f"normalised latency slows by less than {LATENCY_DRIFT_LIMIT:.0%} first to last window",
         drift < LATENCY_DRIFT_LIMIT, f"{drift:+.2%}"),
    ]
    return {
        "memory_slope_bytes_per_session": round(memory_slope, 2),
        "rss_slope_bytes_per_session": round(rss_slope, 2),
        "objects_slope_per_session": round(objects_slope, 4),
        "latency_slope_per_session": lat_slope, "latency_drift": round(drift, 4),
        "decided_rate": round(decided, 6), "unsafe_sessions": len(unsafe),
        "criteria": [{"criterion": c, "pass": bool(ok), "measured": m} for c, ok, m in checks],
        "passed": all(ok for _, ok, _ in checks),
    }


def _intercept(points: list[tuple[float, float]], fitted_slope: float) -> float:
    """The fitted line's value at the first point (mean y minus slope times the x offset)."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return statistics.fmean(ys) - fitted_slope * (statistics.fmean(xs) - xs[0])


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int = 5) -> list[str]:
    return [str(stat) for stat in after.compare_to(before, "lineno")[:limit]]


# ------------------------------------------------------------------ the run
def run(sessions: int | None = 2000, minutes: float | None = None, window: int = 100, seed: int = 0,
        runtime_share: float = 0.1, progress: bool = False, protocols: tuple[str, ...] | None = None
        ) -> dict[str, Any]:
    if sessions is None and minutes is None:
        raise ValueError("give a session count, a time bound in minutes, or both")
    mix = tuple(kind for kind in MIX if protocols is None or kind[0] in protocols)
    if not mix:
        raise ValueError(f"no protocol of the mix selected; the mix holds {sorted({p for p, _ in MIX})}")
    deadline = None if minutes is None else time.monotonic() + minutes * 60
    outcomes: list[Record] = []
    digest = hashlib.sha256()
    counts: dict[str, dict[str, int]] = {}
    faulty = 0
    tracemalloc.start()
    started = time.perf_counter()
    windows = [sample(0)]
    baseline = after_warmup = tracemalloc.take_snapshot()
    try:
        index = 0
        while (sessions is None or index < sessions) and (deadline is None or time.monotonic() < deadline):
            protocol, n, driver, network, faults = draw(seed, index, runtime_share, mix)
            outcome = run_session(protocol, n, driver=driver, seed=index, network=network, faults=faults,
                                  fast=False, timeout=30.0 if driver == "runtime" else 120.0)
            outcomes.append(Record.of(outcome))
            faulty += faults != Faults()
            digest.update(json.dumps(fingerprint(outcome), sort_keys=True).encode())
            tally = counts.setdefault(protocol, {})
            tally[outcome.status] = tally.get(outcome.status, 0) + 1
            index += 1
            if index % window == 0:
                windows.append(sample(index))
                if len(windows) == 2:
                    after_warmup = tracemalloc.take_snapshot()
                if progress:
                    w = windows[-1]
                    print(f"{index:>6} sessions  RSS {w['rss_mib']:>7.1f} MiB  traced {w['traced_mib']:>7.3f} MiB  "
                          f"objects {w['objects']:>8}", file=sys.stderr, flush=True)
        if index % window:
            windows.append(sample(index))
        growth = top_growth(after_warmup if len(windows) > 2 else baseline, tracemalloc.take_snapshot())
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    windows = windows[1:]  # the first sample (before any session) only anchors the snapshot
    verdict = analyse(outcomes, windows, window)
    return {
        "scenario": "long-running-stress", "seed": seed, "sessions": len(outcomes), "window": window,
        "runtime_share": runtime_share, "mix": [list(kind) for kind in mix], "wall_s": round(elapsed, 2),
        "sessions_per_s": round(len(outcomes) / elapsed, 2) if elapsed else 0.0,
        "by_protocol": dict(sorted(counts.items())),
        "faulty_sessions": faulty,
        "windows": windows, "top_traced_growth": growth, "digest": digest.hexdigest(), **verdict,
        "thresholds": {"memory_slope_bytes_per_session": MEMORY_SLOPE_LIMIT,
                       "latency_drift": LATENCY_DRIFT_LIMIT, "decided_rate": SUCCESS_LIMIT},
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"{report['sessions']} sessions in {report['wall_s']} s ({report['sessions_per_s']}/s), "
             f"{report['faulty_sessions']} with injected faults, runtime share {report['runtime_share']:.0%}",
             "outcomes: " + "; ".join(f"{p} {c}" for p, c in report["by_protocol"].items()), "",
             f"{'sessions':>8} {'RSS MiB':>8} {'traced MiB':>10} {'objects':>8} {'latency ratio':>13}"]
    for w in report["windows"]:
        lines.append(f"{w['sessions']:>8} {w['rss_mib']:>8.1f} {w['traced_mib']:>10.3f} {w['objects']:>8} "
                     f"{w['latency_ratio_median']!s:>13}")
    lines += ["", f"slopes (warm-up window excluded): traced memory {report['memory_slope_bytes_per_session']} "
              f"B/session, RSS {report['rss_slope_bytes_per_session']} B/session, objects "
              f"{report['objects_slope_per_session']}/session, latency drift {report['latency_drift']:+.2%}",
              "largest traced growth after warm-up:", *(f"  {g}" for g in report["top_traced_growth"]),
              f"trace digest (simulator sessions): {report['digest'][:16]}", "criteria:"]
    for c in report["criteria"]:
        lines.append(f"  [{'PASS' if c['pass'] else 'FAIL'}] {c['criterion']}: {c['measured']}")
    lines.append(f"overall: {'PASS' if report['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=None, help="number of sessions (default 2000)")
    parser.add_argument("--minutes", type=float, default=None, help="stop after this many minutes instead")
    parser.add_argument("--window", type=int, default=None, help="sessions per measurement window (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runtime-share", type=float, default=0.1, help="fraction of sessions on the runtime")
    parser.add_argument("--quick", action="store_true", help="60 sessions in windows of 10 (for tests)")
    parser.add_argument("--protocols", nargs="+", choices=sorted({p for p, _ in MIX}), default=None,
                        help="restrict the mix (e.g. to find which protocol a growth comes from)")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument("--progress", action="store_true", help="print each window to stderr")
    args = parser.parse_args(argv)
    sessions = args.sessions if args.sessions is not None else (60 if args.quick else
                                                                None if args.minutes else 2000)
    window = args.window or (10 if args.quick else 100)
    if window < 1 or (sessions is not None and sessions < 1) or not 0 <= args.runtime_share <= 1:
        parser.error("--window and --sessions must be positive, --runtime-share in [0, 1]")
    report = run(sessions, args.minutes, window, args.seed, args.runtime_share, args.progress,
                 None if args.protocols is None else tuple(args.protocols))
    print(render(report))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


if __name__ == "__main__":
    sys.exit(0 if main()["passed"] else 1)
