"""Distributed ML training coordinated by real protocol runs: 24 heterogeneous workers, one Byzantine.

Scenario 4.1 of the seed document, with simulated workers (no GPU, no network):

1. resource allocation: workers vote for a parallelism plan, weighted by their compute
   capacity (Byzantine-mode weighted vote); the resulting shard assignment (the job plan)
   is certified by PBFT among all workers;
2. hyperparameter search: each round every live worker evaluates candidates around the
   current configuration on a seeded synthetic loss surface and proposes its best; the
   group agrees on the next configuration by Byzantine approximate agreement
   (``iterative``), so the poisoned proposal of the Byzantine worker is trimmed away;
3. fault recovery: workers crash in the middle of a search round and of the recovery
   plan; the survivors re-certify a re-balanced job plan by PBFT, then pick the checkpoint
   to keep (lowest median reported loss, robust to the poisoned reports) and certify it by PBFT.

The Byzantine worker equivocates in every protocol (through :mod:`mabeam.attacks`) and
reports poisoned validation scores. Every step reports what it decided, by which protocol,
its virtual duration, its messages and the properties the live monitor checked.
Deterministic by seed::

    python examples/distributed_ml_training.py --seed 0 --json training.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from dataclasses import dataclass
from fractions import Fraction
from statistics import mean, median
from typing import Any

from mabeam.api.session import SessionResult, run_protocol, start_byzantine_consensus, start_weighted_vote
from mabeam.attacks import MessageAdapter, make_attack
from mabeam.live.network import Latency, NetworkModel
from mabeam.protocols.iterative import ApproximateAgreement, convergence_history

#: (kind, count, gpus, cpu cores, evaluation noise: smaller eval subsets on CPUs are noisier)
FLEET = (("gpu-powerhouse", 4, 8, 64, 0.004), ("gpu-workstation", 8, 2, 16, 0.008),
         ("cpu-server", 12, 0, 32, 0.016))
#: the quick fleet (tests): 12 workers, same kinds, same faulty names
SMALL_COUNTS = {"gpu-powerhouse": 2, "gpu-workstation": 4, "cpu-server": 6}
PLANS = ("hybrid-data-parallel", "gpu-only-data-parallel", "cpu-sharded")
#: normalised hyperparameters in [0, 1] and how they map to real values
HYPERPARAMETERS = (("learning_rate", lambda x: 10 ** (-5 + 4 * x)), ("warmup_fraction", lambda x: 0.2 * x),
                   ("dropout", lambda x: 0.5 * x))
BYZANTINE = "gpu-workstation-3"
POISON = (Fraction(1), Fraction(0), Fraction(1))  # the poisoned configuration it pushes
NETWORK = NetworkModel(latency=Latency.uniform(0.001, 0.02))


@dataclass(frozen=True)
class Worker:
    name: str
    kind: str
    gpus: int
    cores: int
    noise: float

    @property
    def capacity(self) -> int:
        """Weight of the worker in allocation votes: GPU count dominates, cores count a little."""
        return self.gpus * 10 + self.cores // 8


#: crash-stop faults: two workers in the middle of search round 2, one during the recovery
#: plan, one while the checkpoint is certified (valid names in both fleets)
SEARCH_CRASHES = {"gpu-powerhouse-1": 0.004, "cpu-server-5": 0.03}
RECOVERY_CRASH = {"cpu-server-2": 0.002}
CHECKPOINT_CRASH = {"cpu-server-4": 0.003}


def fleet(small: bool = False) -> list[Worker]:
    return [Worker(f"{kind}-{i}", kind, gpus, cores, noise) for kind, count, gpus, cores, noise in FLEET
            for i in range(SMALL_COUNTS[kind] if small else count)]


class LossSurface:
    """A seeded synthetic validation-loss surface over the normalised hyperparameters."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"surface/{seed}")
        self.optimum = tuple(round(rng.uniform(0.3, 0.6), 3) for _ in HYPERPARAMETERS)
        self.curvature = tuple(round(rng.uniform(0.6, 1.4), 3) for _ in HYPERPARAMETERS)

    def loss(self, x: tuple[float, ...]) -> float:
        bowl = sum(c * (xi - oi) ** 2 for c, xi, oi in zip(self.curvature, x, self.optimum))
        ripple = 0.01 * math.sin(9 * x[0]) * math.cos(7 * x[2])
        return 0.21 + bowl + ripple


# ------------------------------------------------------------------ attacks and reporting
class ValueTwin(MessageAdapter):
    """Equivocation for the unsigned iterative protocol: the twin carries the mirrored poison."""

    def conflicting(self, message: Any) -> Any:
        if hasattr(message, "value") and isinstance(message.value, (tuple, list)):
            mirrored = tuple((1 - p.numerator, 1) for p in POISON)
            return message.replace(value=mirrored)
        return None


class BallotTwin(MessageAdapter):
    """Equivocation for weighted votes: the twin votes for another plan."""

    def conflicting(self, message: Any) -> Any:
        value = getattr(message, "value", None)
        if isinstance(value, str) and value in PLANS:
            return message.replace(value=PLANS[(PLANS.index(value) + 1) % len(PLANS)])
        return None


def properties_of(result: SessionResult) -> dict[str, str]:
    return {pid: v["status"] for pid, v in sorted(result.properties.items())}


def step_record(step: str, protocol: str, result: SessionResult, decided: Any, *, agents: int,
                note: str = "", **extra: Any) -> dict[str, Any]:
    """What one protocol run decided, how, in what virtual time, with how many messages."""
    return {"step": step, "protocol": protocol, "agents": agents, "decided": decided, "status": result.status,
            "agreement": result.agreement, "virtual_seconds": round(result.duration, 6),
            "messages": result.messages.sent, "crashed": list(result.crashed), "byzantine": list(result.byzantine),
            "evidence": sorted({f"{e.kind} against {e.against}" for e in result.evidence}),
            "properties": properties_of(result), "note": note, **extra}


# ------------------------------------------------------------------ the scenario
def preferred_plan(worker: Worker, rng: random.Random) -> str:
    """GPU owners measure the hybrid plan fastest (CPU servers feed them batches); CPU servers
    without accelerators favour sharding across themselves. Benchmarks are noisy."""
    scores = {"hybrid-data-parallel": 1.0 + 0.05 * worker.gpus, "gpu-only-data-parallel": 0.9 + 0.05 * worker.gpus,
              "cpu-sharded": 1.3 if worker.gpus == 0 else 0.4}
    return max(PLANS, key=lambda p: scores[p] + rng.uniform(-0.04, 0.04))


def job_plan(plan: str, workers: list[Worker], version: int) -> str:
    """The shard assignment: 96 data shards split among GPU workers by capacity (CPU servers preprocess)."""
    trainers = [w for w in workers if w.gpus > 0] if plan != "cpu-sharded" else workers
    total = sum(w.capacity for w in trainers)
    shards = {w.name: 96 * w.capacity // total for w in trainers}
    leftover = 96 - sum(shards.values())
    for w in sorted(trainers, key=lambda w: (-w.capacity, w.name))[:leftover]:
        shards[w.name] += 1
    body = ",".join(f"{name}:{count}" for name, count in sorted(shards.items()))
    return f"job-v{version}|{plan}|{body}"


def allocate(workers: list[Worker], seed: int) -> tuple[str, list[dict[str, Any]]]:
    rng = random.Random(f"benchmarks/{seed}")
    ballots = {w.name: preferred_plan(w, rng) for w in workers}
    weights = {w.name: w.capacity for w in workers}
    byz_weight = weights[BYZANTINE]
    from mabeam.protocols.weighted import WeightedVoting

    probe = WeightedVoting(list(ballots), ballots, weights, max_faulty_weight=byz_weight, session="allocation")
    attack = make_attack("equivocating", BYZANTINE, probe, BallotTwin())
    vote = start_weighted_vote(ballots, weights, max_faulty_weight=byz_weight, seed=seed, network=NETWORK,
                               session="allocation", byzantine={BYZANTINE: attack})
    tally: dict[str, int] = {}
    for name, plan in ballots.items():
        tally[plan] = tally.get(plan, 0) + weights[name]
    plan = vote.decided_value
    heads: dict[str, int] = {}
    for choice in ballots.values():
        heads[choice] = heads.get(choice, 0) + 1
    steps = [step_record("resource allocation", "weighted vote (Byzantine mode, > 2/3 of capacity)", vote, plan,
                         agents=len(workers), note=f"capacity tally {dict(sorted(tally.items()))} of "
                         f"{sum(weights.values())} (head count {dict(sorted(heads.items()))}); "
                         f"{BYZANTINE} equivocates (weight {byz_weight})",
                         capacity_tally=dict(sorted(tally.items())), head_count=dict(sorted(heads.items())))]
    proposal = job_plan(plan, workers, 1)
    certified = start_byzantine_consensus(proposal, [w.name for w in workers], seed=seed, network=NETWORK,
                                          byzantine={BYZANTINE: "equivocating"}, session="job-plan")
    steps.append(step_record("job plan", f"PBFT (n={len(workers)}, f={(len(workers) - 1) // 3})", certified,
                             certified.decided_value, agents=len(workers),
                             note=f"{certified.extras.get('evidence_verified', 0)} evidence items verified"))
    return plan, steps


def propose(worker: Worker, center: tuple[float, ...], step: float, surface: LossSurface,
            rng: random.Random, candidates: int) -> tuple[tuple[Fraction, ...], float]:
    """A worker's best of ``candidates`` configurations around ``center`` (noisy measurements)."""
    best: tuple[tuple[Fraction, ...], float] | None = None
    for _ in range(candidates):
        x = tuple(min(1.0, max(0.0, c + rng.uniform(-step, step))) for c in center)
        measured = surface.loss(x) + rng.gauss(0, worker.noise)
        if best is None or measured < best[1]:
            best = (tuple(Fraction(round(v * 1000), 1000) for v in x), measured)
    assert best is not None
    return best


def search_round(index: int, alive: list[Worker], center: tuple[float, ...], step: float,
                 surface: LossSurface, seed: int, crashes: dict[str, float],
                 candidates: int) -> tuple[tuple[float, ...], dict[str, Any]]:
    rng = random.Random(f"search/{seed}/{index}")
    inputs: dict[str, tuple[Fraction, ...]] = {}
    for w in alive:
        config, _ = propose(w, center, step, surface, rng, candidates)
        inputs[w.name] = POISON if w.name == BYZANTINE else config
    names = [w.name for w in alive]
    f = (len(names) - 1) // 3
    protocol = ApproximateAgreement(names, inputs, f, (0, 1), Fraction(1, 64), max_rounds=6,
                                    session=f"search-{index}", grace=0.05)
    # A crash-stop worker is one of the f faulty agents this Byzantine protocol tolerates: it is
    # played by the "silent" attack from its crash time (honest until then, then nothing).
    # (Passing it as a simulator crash instead would make the monitor's IR-L1 wait for its decision.)
    faulty = {BYZANTINE: make_attack("equivocating", BYZANTINE, protocol, ValueTwin())}
    for name, at in crashes.items():
        faulty[name] = make_attack("silent", name, protocol, after_time=at)
    watch = next(n for n in names if n != BYZANTINE and n not in crashes)
    result = run_protocol(protocol, seed=seed, network=NETWORK, byzantine=faulty,
                          summarize=lambda states: {"history": convergence_history(states[watch])})
    honest = [ds[-1].value[0] for a, ds in sorted(result.decisions.items()) if ds and a not in faulty]
    agreed = tuple(float(median(column)) for column in zip(*honest))
    spread = max(float(max(c) - min(c)) for c in zip(*honest))
    history = [{"round": row["round"], "received": row["received"], "view_spread": _num(row["view_spread"]),
                "value": [round(float(v), 4) for v in row["value"]]} for row in result.extras["history"]]
    honest_inputs = [v for a, v in inputs.items() if a not in faulty]
    record = step_record(
        f"hyperparameter round {index}", f"iterative approximate agreement (n={len(names)}, f={f})", result,
        [round(v, 4) for v in agreed], agents=len(names),
        note=f"{BYZANTINE} proposes poisoned {[float(p) for p in POISON]} and equivocates"
             + (f"; crash-stop mid-round: {sorted(crashes)}" if crashes else ""), crash_stopped=sorted(crashes),
        center_before=[round(c, 4) for c in center], true_loss=round(surface.loss(agreed), 5),
        honest_input_range=[[float(min(c)), float(max(c))] for c in zip(*honest_inputs)],
        decided_spread=round(spread, 6), epsilon=1 / 64, protocol_rounds=protocol.rounds,
        convergence=history, observer=watch)
    return agreed, record


def _num(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_num(v) for v in value]
    return round(float(value), 5)


def keep_checkpoint(alive: list[Worker], checkpoints: list[tuple[str, tuple[float, ...]]],
                    surface: LossSurface, seed: int, crash: dict[str, float]) -> dict[str, Any]:
    """Workers report each checkpoint's validation loss; the median report picks, PBFT certifies."""
    rng = random.Random(f"checkpoints/{seed}")
    reports: dict[str, dict[str, float]] = {}
    for name, config in checkpoints:
        truth = surface.loss(config)
        reports[name] = {w.name: truth + rng.gauss(0, w.noise) for w in alive}
        reports[name][BYZANTINE] = -10.0 if name == checkpoints[0][0] else 10.0  # poisoned scores
    by_median = min(reports, key=lambda c: (median(reports[c].values()), c))
    by_mean = min(reports, key=lambda c: (mean(reports[c].values()), c))
    names = [w.name for w in alive]
    result = start_byzantine_consensus(f"keep {by_median}", names, seed=seed, network=NETWORK, crashes=crash,
                                       byzantine={BYZANTINE: "equivocating"}, session="checkpoint")
    truth = {name: round(surface.loss(config), 5) for name, config in checkpoints}
    return step_record(
        "checkpoint to keep", f"PBFT (n={len(names)}, f={(len(names) - 1) // 3})", result, result.decided_value,
        agents=len(names), note=f"median of reports picks {by_median}; the mean, poisoned by {BYZANTINE}, "
        f"would pick {by_mean}", true_losses=truth, best_true=min(truth, key=lambda c: (truth[c], c)),
        median_reports={c: round(median(r.values()), 5) for c, r in reports.items()}, naive_mean_choice=by_mean)


def run(seed: int = 0, *, rounds: int = 4, candidates: int = 6, small: bool = False) -> dict[str, Any]:
    """The whole scenario; returns a JSON-ready report (no wall-clock fields).

    ``small`` runs the 12-worker fleet (same kinds and faults) for quick checks.
    """
    workers = fleet(small)
    surface = LossSurface(seed)
    plan, steps = allocate(workers, seed)
    alive = list(workers)
    center = (0.85, 0.85, 0.85)
    step = 0.35
    checkpoints: list[tuple[str, tuple[float, ...]]] = []
    crash_round = min(2, rounds)
    crashed: list[str] = []
    for index in range(1, rounds + 1):
        crashes = SEARCH_CRASHES if index == crash_round else {}
        center, record = search_round(index, alive, center, step, surface, seed, crashes, candidates)
        steps.append(record)
        checkpoints.append((f"ckpt-r{index}", center))
        if crashes:  # fault recovery: survivors re-balance the job and certify the new plan
            crashed += sorted(crashes)
            alive = [w for w in alive if w.name not in crashes]
            recovery = job_plan(plan, alive, 2)
            result = start_byzantine_consensus(recovery, [w.name for w in alive], seed=seed, network=NETWORK,
                                               crashes=RECOVERY_CRASH, byzantine={BYZANTINE: "equivocating"},
                                               session="recovery")
            steps.append(step_record("fault recovery: re-balanced job plan",
                                     f"PBFT (n={len(alive)}, f={(len(alive) - 1) // 3})", result,
                                     result.decided_value, agents=len(alive),
                                     note=f"survivors of the crashes of {sorted(crashes)}; "
                                          f"{sorted(RECOVERY_CRASH)} crashes during this run"))
            crashed += sorted(RECOVERY_CRASH)
            alive = [w for w in alive if w.name not in RECOVERY_CRASH]
        step *= 0.7
    steps.append(keep_checkpoint(alive, checkpoints, surface, seed, CHECKPOINT_CRASH))
    crashed += sorted(CHECKPOINT_CRASH)
    final = dict(zip((h for h, _ in HYPERPARAMETERS), center))
    counts = SMALL_COUNTS if small else {k: c for k, c, *_ in FLEET}
    return {
        "scenario": "distributed-ml-training", "seed": seed, "workers": len(workers),
        "fleet": [{"kind": k, "count": counts[k], "gpus": g, "cpu_cores": cores, "capacity": g * 10 + cores // 8}
                  for k, _, g, cores, _ in FLEET],
        "byzantine": BYZANTINE, "crashed": crashed, "plan": plan,
        "optimum": list(surface.optimum), "optimum_loss": round(surface.loss(surface.optimum), 5),
        "start_loss": round(surface.loss((0.85, 0.85, 0.85)), 5),
        "final_config": [round(v, 4) for v in center],
        "final_hyperparameters": {k: float(f"{fn(final[k]):.4g}") for k, fn in HYPERPARAMETERS},
        "final_true_loss": round(surface.loss(center), 5), "steps": steps,
        "all_agree": all(s["agreement"] for s in steps),
        "all_decided": all(s["status"] == "decided" for s in steps),
        "all_properties_hold": all(v != "violated" for s in steps for v in s["properties"].values()),
    }


def render(report: dict[str, Any]) -> str:
    lines = [f"distributed ML training: {report['workers']} workers, Byzantine {report['byzantine']}, "
             f"seed {report['seed']}, plan {report['plan']}"]
    for s in report["steps"]:
        lines.append(f"\n{s['step']} [{s['protocol']}] {s['agents']} agents -> {s['status']}, "
                     f"agreement={s['agreement']}")
        decided = s["decided"] if not isinstance(s["decided"], str) or len(s["decided"]) < 90 \
            else s["decided"][:87] + "..."
        lines.append(f"  decided : {decided}")
        lines.append(f"  cost    : {s['virtual_seconds']:.4f} s virtual, {s['messages']} messages; "
                     f"crashed {s['crashed']}, Byzantine {s['byzantine']}")
        if s["evidence"]:
            lines.append(f"  evidence: {', '.join(s['evidence'])}")
        if "true_loss" in s:
            lines.append(f"  search  : center {s['center_before']} -> {s['decided']} (true loss {s['true_loss']}), "
                         f"honest decisions within {s['decided_spread']:.5f} (eps {s['epsilon']:.4f}), "
                         f"{s['protocol_rounds']} rounds")
            for row in s["convergence"]:
                lines.append(f"    {s['observer']} round {row['round']}: {row['received']} values, "
                             f"view spread {row['view_spread']}")
        if s["note"]:
            lines.append(f"  note    : {s['note']}")
        held = ", ".join(f"{k} {v}" for k, v in s["properties"].items() if v != "not-checked")
        lines.append(f"  monitor : {held}")
    lines.append(f"\nfinal config {report['final_config']} = {report['final_hyperparameters']} "
                 f"(true loss {report['final_true_loss']}, from {report['start_loss']}; "
                 f"bowl centre {report['optimum']} loss {report['optimum_loss']}); crashed {report['crashed']}")
    lines.append(f"every step decided: {report['all_decided']}; agreement: {report['all_agree']}; "
                 f"monitored properties hold: {report['all_properties_hold']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=4, help="hyperparameter search rounds")
    parser.add_argument("--small", action="store_true", help="the 12-worker fleet (quick)")
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    args = parser.parse_args(argv)
    report = run(args.seed, rounds=args.rounds, small=args.small)
    print(render(report))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
            handle.write("\n")
    return 0 if report["all_properties_hold"] and report["all_agree"] and report["all_decided"] else 1


if __name__ == "__main__":
    sys.exit(main())
