"""The lab's scenarios: named attack patterns and network partitions, each a seeded PBFT run.

Attackers are the first agents, the primaries of the first views, where a
Byzantine node does the most damage. Partition scenarios use the shared
:class:`~mabeam.live.network.NetworkModel` (reliable links hold a message sent
across a partition until it heals) and judge, beside the live property
monitors, what only the partition layout can tell: whether an agent decided
while cut off in a group smaller than a quorum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..attacks import (
    Adaptive,
    CoalitionPlan,
    Delaying,
    Equivocating,
    Forging,
    Replaying,
    Silent,
    make_coalition,
    pbft_suspicion,
)
from ..attacks.pbft import pbft_adapter
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..live.network import Latency, NetworkModel, Partition
from ..live.strategy import HonestStrategy, Strategy
from ..protocols.pbft import PBFTReplica
from .detection import LIVENESS, AttackReport, attack_report
from .run import LabRun, build_pbft, run_pbft

VIEW_TIMEOUT = 0.5
LAB_NETWORK = NetworkModel(latency=Latency.uniform(0.001, 0.02), duplication=0.02)

AttackBuilder = Callable[[PBFTReplica, Sequence[AgentId]], dict[AgentId, Strategy]]


def _each(cls: type, **options: Any) -> AttackBuilder:
    def build(protocol: PBFTReplica, agents: Sequence[AgentId]) -> dict[AgentId, Strategy]:
        return {a: cls(HonestStrategy(a, protocol), pbft_adapter(protocol, a), **options) for a in agents}
    return build


def _coalition(witnesses: int) -> AttackBuilder:
    def build(protocol: PBFTReplica, agents: Sequence[AgentId]) -> dict[AgentId, Strategy]:
        plan = CoalitionPlan.split(agents, protocol.agents, witnesses=witnesses)
        return make_coalition(plan, protocol, lambda a: pbft_adapter(protocol, a))
    return build


def _adaptive(protocol: PBFTReplica, agents: Sequence[AgentId]) -> dict[AgentId, Strategy]:
    noticed = pbft_suspicion(protocol)
    return {a: Adaptive(HonestStrategy(a, protocol), pbft_adapter(protocol, a), noticed=noticed,
                        first="equivocating", then="delaying", first_options={"overlap": 1},
                        then_options={"delay": VIEW_TIMEOUT / 2}) for a in agents}


def _mixed(protocol: PBFTReplica, agents: Sequence[AgentId]) -> dict[AgentId, Strategy]:
    """The worst of each: an equivocating primary, a silent next primary, a forger; more repeat them."""
    kinds = (_each(Equivocating, overlap=1), _each(Silent), _each(Forging), _each(Replaying, period=0.1),
             _each(Delaying, delay=VIEW_TIMEOUT / 2))
    out: dict[AgentId, Strategy] = {}
    for i, agent in enumerate(agents):
        out.update(kinds[i % len(kinds)](protocol, [agent]))
    return out


#: pattern name -> builder of its attackers (each signs only with its own key)
ATTACK_PATTERNS: dict[str, AttackBuilder] = {
    "silent": _each(Silent, after_messages=2),  # a primary that stops half-way through its broadcast
    "equivocating": _each(Equivocating, overlap=4),  # enough witnesses that an honest one sees both
    "delaying": _each(Delaying, delay=VIEW_TIMEOUT / 2),
    "forging": _each(Forging),
    "replaying": _each(Replaying, period=0.1),
    "coalition": _coalition(witnesses=1),
    "adaptive": _adaptive,
    "max-fault-mixed": _mixed,
    "coalition-stealth": _coalition(witnesses=0),
}


def run_attack_pattern(pattern: str, n: int = 10, byzantine: int | None = None, *, f: int | None = None,
                       seed: int | str = 0, network: NetworkModel = LAB_NETWORK,
                       authentication: str = "symbolic") -> tuple[AttackReport, LabRun]:
    """``pattern`` played by the first ``byzantine`` agents (default f) among ``n``; its report row."""
    if pattern not in ATTACK_PATTERNS:
        raise ConfigurationError(f"unknown pattern {pattern!r}; known: {', '.join(ATTACK_PATTERNS)}")
    protocol = build_pbft(n, f=f, seed=seed, view_timeout=VIEW_TIMEOUT, authentication=authentication)
    count = protocol.f if byzantine is None else byzantine
    attackers = protocol.agents[:count]
    run = run_pbft(protocol, lambda p: ATTACK_PATTERNS[pattern](p, attackers), network=network, seed=seed)
    return attack_report(pattern, run, network_fair=network.fair), run


# ------------------------------------------------------------------ partitions
def latency_bound(latency: Latency) -> float:
    """The longest one-way delay ``latency`` can draw (only bounded distributions qualify)."""
    if latency.distribution == "constant":
        return latency.a + latency.floor
    if latency.distribution == "uniform":
        return latency.b + latency.floor
    raise ConfigurationError(f"the minority-decision check needs bounded latency, not {latency.distribution}")


@dataclass(frozen=True)
class PartitionScenario:
    name: str
    sizes: tuple[int, ...]  # group sizes, in agent order
    windows: tuple[tuple[float, float], ...]  # (start, heal) of each successive partition

    def cut_off(self, at: float, grace: float) -> bool:
        """Whether nothing sent across groups can arrive at ``at``: inside a window, past the
        ``grace`` (latency bound) in which messages sent before it started still land."""
        return any(start + grace <= at < heal for start, heal in self.windows)

    def groups(self, agents: Sequence[AgentId]) -> tuple[tuple[AgentId, ...], ...]:
        out, at = [], 0
        for size in self.sizes:
            out.append(tuple(agents[at:at + size]))
            at += size
        return tuple(out)

    def network(self, agents: Sequence[AgentId], base: NetworkModel = LAB_NETWORK) -> NetworkModel:
        groups = self.groups(agents)
        return NetworkModel(latency=base.latency, duplication=base.duplication,
                            partitions=tuple(Partition(groups, start, heal) for start, heal in self.windows))


PARTITION_SCENARIOS: dict[str, PartitionScenario] = {
    "clean-split": PartitionScenario("clean-split", (6, 6), ((0.0, 3.0),)),
    "minority-isolation": PartitionScenario("minority-isolation", (12, 3), ((0.0, 3.0),)),
    "multiple-fragments": PartitionScenario("multiple-fragments", (8, 6, 4), ((0.0, 3.0),)),
    "intermittent": PartitionScenario("intermittent", (5, 5),
                                      ((0.0, 0.6), (0.65, 1.3), (1.35, 2.0), (2.05, 2.7))),
}


@dataclass
class PartitionReport:
    scenario: str
    n: int
    f: int
    quorum: int
    seed: int | str
    groups: list[list[AgentId]]
    windows: list[list[float]]
    #: agent, group size, time, and whether it was cut off (no cross-group message could still arrive)
    decided_during_partition: list[dict[str, Any]]
    minority_decisions: list[dict[str, Any]]  # cut off in a group below quorum, yet decided (violations)
    rolled_back: list[AgentId]  # agents whose decision changed (violations)
    honest_decided: int
    honest: int
    agreement: bool
    decided_value: Any
    safety: bool  # live monitors, no minority decision, no rollback
    liveness: str
    violations: list[str]
    last_heal: float
    #: the longest wait from the latest heal before it to a decision made after a heal (0.0 when every
    #: honest agent decided while still split); None when some honest agent never decided
    time_to_decide_after_heal: float | None
    messages_sent: int
    deliveries_during_partition: int
    duration: float
    view_changes: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_partition_scenario(name: str, *, seed: int | str = 0, authentication: str = "symbolic"
                           ) -> tuple[PartitionReport, LabRun]:
    if name not in PARTITION_SCENARIOS:
        raise ConfigurationError(f"unknown partition scenario {name!r}; known: {', '.join(PARTITION_SCENARIOS)}")
    scenario = PARTITION_SCENARIOS[name]
    protocol = build_pbft(sum(scenario.sizes), seed=seed, view_timeout=VIEW_TIMEOUT,
                          authentication=authentication)
    run = run_pbft(protocol, None, network=scenario.network(protocol.agents), seed=seed)
    return partition_report(scenario, run), run


def partition_report(scenario: PartitionScenario, run: LabRun) -> PartitionReport:
    result, protocol = run.result, run.protocol
    quorum = 2 * protocol.f + 1
    groups = scenario.groups(protocol.agents)
    group_of: Mapping[AgentId, tuple[AgentId, ...]] = {a: g for g in groups for a in g}
    during, minority, rolled_back = [], [], []
    grace = latency_bound(LAB_NETWORK.latency)
    for agent in run.honest:
        records = result.decisions.get(agent, [])
        if len({(repr(d.instance), repr(d.value)) for d in records}) > len({repr(d.instance) for d in records}):
            rolled_back.append(agent)
        for d in records:
            if any(start <= d.at < heal for start, heal in scenario.windows):
                size = len(group_of[agent])
                entry = {"agent": agent, "group_size": size, "at": d.at,
                         "cut_off": scenario.cut_off(d.at, grace)}
                during.append(entry)
                if size < quorum and entry["cut_off"]:
                    minority.append(entry)
    decided_at = [result.decisions[a][-1].at for a in run.honest if a in result.decisions]
    last_heal = max(heal for _, heal in scenario.windows)
    heals = sorted(heal for _, heal in scenario.windows)
    after = [t - max(h for h in heals if h <= t) for t in decided_at if t >= heals[0]]
    everyone = len(decided_at) == len(run.honest)
    monitors_safe = not any(v["status"] == "violated" for pid, v in result.properties.items() if pid != LIVENESS)
    return PartitionReport(
        scenario=scenario.name, n=protocol.n, f=protocol.f, quorum=quorum, seed=result.seed,
        groups=[list(g) for g in groups], windows=[list(w) for w in scenario.windows],
        decided_during_partition=during, minority_decisions=minority, rolled_back=rolled_back,
        honest_decided=len(decided_at), honest=len(run.honest), agreement=result.agreement,
        decided_value=result.decided_value,
        safety=monitors_safe and result.agreement and not minority and not rolled_back,
        liveness=result.properties.get(LIVENESS, {}).get("status", "not-checked"), violations=result.violations(),
        last_heal=last_heal, time_to_decide_after_heal=(max(after) if after else 0.0) if everyone else None,
        messages_sent=result.messages.sent, deliveries_during_partition=_delivered_while_partitioned(run, scenario),
        duration=result.duration, view_changes=int(result.extras.get("view_changes", 0)))


def _delivered_while_partitioned(run: LabRun, scenario: PartitionScenario) -> int:
    """Deliveries that arrived inside a partition window (the traffic each side exchanged while cut off)."""
    return sum(1 for at, _, kind, _, _ in run.result.log or ()
               if kind == "deliver" and any(start <= at < heal for start, heal in scenario.windows))
