"""Uniform workloads: "run one session of protocol P among n agents, with these faults".

:func:`run_session` drives every shipped protocol (and a three-level pipeline)
through the public session API and reports an :class:`Outcome` of one shape;
the benchmarks (``benchmarks/protocols.py``) and the scale and stress examples
build on it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..api.adaptive import run_adaptive_coordination
from ..api.pipeline import ConsensusLevel, Level, RefinementLevel, WeightedLevel, run_pipeline
from ..api.session import Driver, run_protocol, start_byzantine_consensus, start_majority_vote, start_weighted_vote
from ..attacks import make_attack
from ..core.identity import Membership
from ..live.network import Latency, NetworkModel
from ..protocols.iterative import ApproximateAgreement
from ..protocols.iterative_categorical import CategoricalRefinement

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


def run_session(protocol: str, n: int, *, driver: Driver = "simulator", seed: int = 0,
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
                                      timeout=timeout, crashes=crashes, **options)
        elif protocol == "weighted":
            weights = expertise(agents)
            run = start_weighted_vote(weighted_ballots(weights, seed), weights, driver=driver,
                                      network=network, seed=seed, timeout=timeout, crashes=crashes,
                                      max_faulty_weight=sum(weights[a] for a in crashes), **options)
        elif protocol == "iterative":
            inputs = {a: (Fraction((i * 7 + seed) % 11, 10),) for i, a in enumerate(agents)}  # in [0, 1]
            machine = ApproximateAgreement(Membership(agents), inputs, (n - 1) // 3, (0, 1), ITERATIVE_EPSILON,
                                           grace=GRACE)
            run = run_protocol(machine, driver, network=network, seed=seed,
                               timeout=timeout, crashes=crashes, byzantine=_attacks(machine, faults),
                               **options)
        else:
            answers = {a: (("x", 2) if (i + seed) % 3 else ("y", 1)) for i, a in enumerate(agents)}
            categorical = CategoricalRefinement(Membership(agents), answers, ("x", "y", "z"), (n - 1) // 3)
            run = run_protocol(categorical, driver, network=network, seed=seed,
                               timeout=timeout, crashes=crashes, **options)
        return _run_result(protocol, n, driver, seed, run, started)
    if protocol == "pbft":
        run = start_byzantine_consensus(
            "plan-A", agents, driver=driver, network=network, seed=seed,
            timeout=timeout, byzantine=dict(faults.byzantine), crashes=dict(faults.crashes),
            view_timeout=VIEW_TIMEOUT if not faults.byzantine else 0.5, authentication="ed25519", **options)
        return _run_result(protocol, n, driver, seed, run, started)
    if protocol == "adaptive":
        weights = expertise(agents)
        result = run_adaptive_coordination(
            weighted_ballots(weights, seed), weights=weights, driver=driver,
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


def _pipeline(n: int, driver: Driver, seed: int, faults: Faults, started: float) -> Outcome:
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

    levels: list[Level] = [
        ConsensusLevel("leads", leads, f, lambda _: "plan-A", byzantine=bad(leads[::-1], f)),
        WeightedLevel("evaluators", weights, f_weighted, lambda plan: {a: plan for a in evaluators},
                      byzantine=bad(lightest, f_weighted)),
        RefinementLevel("tuners", tuners, f, lambda _: {a: (Fraction(i % 9, 10),) for i, a in enumerate(tuners)},
                        (0, 1), 3, byzantine=bad(tuners[::-1], f)),
    ]
    report = run_pipeline(levels, driver=driver, seed=seed, session=f"bench-{seed}")
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
