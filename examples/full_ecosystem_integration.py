"""Coordination with the surrounding services: registry, events, configuration and telemetry, under contention.

The scenario document's part 5.1 ("full ecosystem integration"): several
sessions run at once in the live asyncio runtime, each driving four services
that a deployment would have around the coordination layer:

- an **agent registry**: a pool of 16 agents with capabilities; a session must
  lease the agents it coordinates (exclusively) and returns them when it ends,
  so sessions that need more agents than are free *wait* (resource contention);
- an **event bus**: every lease, session start, decision, configuration reload and
  telemetry summary is published; an auditor and a metrics collector subscribe;
- a **configuration store**: versioned settings per protocol (timeouts, the PBFT
  view timeout, the weighted threshold), reloaded once mid-run; each session
  takes the version current when it starts;
- **telemetry**: every session carries a :class:`mabeam.api.telemetry.TelemetryObserver`
  (spans, events and metrics through OpenTelemetry; counted here whether or not
  an SDK is installed);

and the protocol registry (:mod:`mabeam.api.registry`) resolves each session's
protocol by name. At the end it checks, PASS/FAIL: every session decided with
agreement and no violated property; no agent was ever leased twice at once and
every lease was returned; contention really happened; every session used the
configuration current at its start, and the sessions started after the reload
used the new one; telemetry saw every session start, end and decide; every
subscriber received every event. Exits 0 when all hold.

    python examples/full_ecosystem_integration.py
    python examples/full_ecosystem_integration.py --sessions 24 --seed 3 --json /tmp/ecosystem.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from mabeam import registry, run_protocol_async, start_byzantine_consensus_async
from mabeam.api.telemetry import TelemetryObserver
from mabeam.core import Membership, SeededRandom
from mabeam.protocols.majority import MajorityVoting
from mabeam.protocols.weighted import WeightedVoting

POOL = {f"{kind}-{i}": kind for kind, count in (("gpu", 4), ("cpu", 6), ("edge", 6)) for i in range(count)}
CAPACITY = {"gpu": 5, "cpu": 2, "edge": 1}  # expertise weight in weighted sessions
PROTOCOLS = ("majority", "weighted", "pbft")


# ------------------------------------------------------------------ the services
class EventBus:
    """Asynchronous publish/subscribe: each subscriber has its own queue and task."""

    def __init__(self) -> None:
        self.subscribers: dict[str, asyncio.Queue[tuple[str, dict[str, Any]]]] = {}
        self.published: Counter[str] = Counter()

    def subscribe(self, name: str) -> asyncio.Queue[tuple[str, dict[str, Any]]]:
        self.subscribers[name] = asyncio.Queue()
        return self.subscribers[name]

    def publish(self, topic: str, **payload: Any) -> None:
        self.published[topic] += 1
        for queue in self.subscribers.values():
            queue.put_nowait((topic, {**payload, "at": time.perf_counter()}))


class AgentRegistry:
    """Agents a session must lease before it coordinates them; waits are first come, first served."""

    def __init__(self, bus: EventBus) -> None:
        self.free = dict(POOL)
        self.bus = bus
        self.changed = asyncio.Condition()
        self.waits: list[float] = []

    async def lease(self, session: str, count: int) -> list[str]:
        started = time.perf_counter()
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.free) >= count)
            names = sorted(self.free)[:count]
            for name in names:
                del self.free[name]
        self.waits.append(time.perf_counter() - started)
        self.bus.publish("lease.granted", session=session, agents=names)
        return names

    async def release(self, session: str, names: list[str]) -> None:
        async with self.changed:
            self.free.update({name: POOL[name] for name in names})
            self.changed.notify_all()
        self.bus.publish("lease.released", session=session, agents=names)


@dataclass
class ConfigStore:
    """Versioned settings; a reload bumps the version and is announced on the bus."""

    bus: EventBus
    version: int = 1
    settings: dict[str, dict[str, Any]] = field(default_factory=lambda: {
        "majority": {"timeout": 10.0}, "weighted": {"timeout": 10.0, "threshold": "2/3"},
        "pbft": {"timeout": 10.0, "view_timeout": 0.5}})

    def snapshot(self) -> tuple[int, dict[str, dict[str, Any]]]:
        return self.version, json.loads(json.dumps(self.settings))

    def reload(self) -> None:
        self.version += 1
        self.settings["weighted"]["threshold"] = "3/4"
        self.settings["pbft"]["view_timeout"] = 0.3
        self.bus.publish("config.reloaded", version=self.version)


# ------------------------------------------------------------------ one session
@dataclass
class SessionRecord:
    session: str
    protocol: str
    agents: list[str] = field(default_factory=list)
    config_version: int = 0
    started_after_reload: bool = False
    status: str = ""
    value: Any = None
    agreement: bool = False
    violations: list[str] = field(default_factory=list)
    telemetry: dict[str, int] = field(default_factory=dict)
    decisions: int = 0
    waited: float = 0.0


async def run_session(number: int, protocol: str, size: int, services: Services, rng: SeededRandom) -> SessionRecord:
    """Lease agents, read the configuration, run the protocol live with telemetry, publish, release."""
    name = f"s{number:02d}-{protocol}"
    record = SessionRecord(name, registry.get(protocol).name)
    started = time.perf_counter()
    agents = await services.registry.lease(name, size)
    record.waited = time.perf_counter() - started
    record.agents = agents
    record.config_version, settings = services.config.snapshot()
    record.started_after_reload = services.reloaded.is_set()
    services.bus.publish("session.started", session=name, protocol=protocol, config=record.config_version)
    observer = TelemetryObserver()
    try:
        run = await _protocol_run(protocol, agents, settings[protocol], name, rng.randrange(1 << 30), observer)
    finally:
        await services.registry.release(name, agents)
    record.status, record.value, record.agreement = run.status, run.decided_value, run.agreement
    record.violations = run.violations()
    record.decisions = sum(len(ds) for a, ds in run.decisions.items() if a not in run.byzantine)
    record.telemetry = dict(observer.counts)
    services.bus.publish("session.decided", session=name, value=str(run.decided_value), status=run.status)
    services.bus.publish("telemetry.summary", session=name, events=sum(observer.counts.values()))
    return record


def _ballots(agents: list[str]) -> dict[str, str]:
    """Every third edge agent dissents (plan-B), while the dissenters stay under a quarter of the
    session's agents and of its capacity weight: which agents a session leases depends on the
    contention's timing, and plan-A must clear a majority and the strictest threshold (3/4) with any lease."""
    total = sum(CAPACITY[POOL[a]] for a in agents)
    ballots, dissent, dissenters = {}, 0, 0
    for i, agent in enumerate(agents):
        weight = CAPACITY[POOL[agent]]
        dissents = POOL[agent] == "edge" and i % 3 == 0 and 4 * (dissent + weight) < total \
            and 4 * (dissenters + 1) < len(agents)
        dissent, dissenters = dissent + (weight if dissents else 0), dissenters + dissents
        ballots[agent] = "plan-B" if dissents else "plan-A"
    return ballots


def _protocol_run(protocol: str, agents: list[str], settings: dict[str, Any], session: str, seed: int,
                  observer: TelemetryObserver) -> Awaitable[Any]:
    """The protocol's live run in this loop, configured by the session's configuration snapshot."""
    ballots = _ballots(agents)
    if protocol == "majority":
        machine: Any = MajorityVoting(Membership(agents), ballots, session=session)
        return run_protocol_async(machine, seed=seed, timeout=settings["timeout"], observers=[observer])
    if protocol == "weighted":
        weights = {a: CAPACITY[POOL[a]] for a in agents}
        machine = WeightedVoting(Membership(agents), ballots, weights, threshold=Fraction(settings["threshold"]),
                                 session=session)
        return run_protocol_async(machine, seed=seed, timeout=settings["timeout"], observers=[observer])
    return start_byzantine_consensus_async("plan-A", agents, seed=seed, timeout=settings["timeout"],
                                           view_timeout=settings["view_timeout"], authentication="symbolic",
                                           session=session, observers=[observer])


@dataclass
class Services:
    bus: EventBus
    registry: AgentRegistry
    config: ConfigStore
    reloaded: asyncio.Event


# ------------------------------------------------------------------ subscribers
async def consume(queue: asyncio.Queue[tuple[str, dict[str, Any]]], handle: Callable[[str, dict[str, Any]], None],
                  stop: asyncio.Event) -> int:
    seen = 0
    while not (stop.is_set() and queue.empty()):
        try:
            topic, payload = await asyncio.wait_for(queue.get(), 0.05)
        except TimeoutError:
            continue
        handle(topic, payload)
        seen += 1
    return seen


class Auditor:
    """Checks from the event stream alone that no agent is ever leased by two sessions at once."""

    def __init__(self) -> None:
        self.holder: dict[str, str] = {}
        self.conflicts: list[str] = []
        self.max_in_use = 0

    def __call__(self, topic: str, payload: dict[str, Any]) -> None:
        if topic == "lease.granted":
            for agent in payload["agents"]:
                if agent in self.holder:
                    self.conflicts.append(f"{agent}: {self.holder[agent]} and {payload['session']}")
                self.holder[agent] = payload["session"]
            self.max_in_use = max(self.max_in_use, len(self.holder))
        elif topic == "lease.released":
            for agent in payload["agents"]:
                self.holder.pop(agent, None)


# ------------------------------------------------------------------ the scenario
async def scenario(sessions: int, seed: int) -> dict[str, Any]:
    """Why one coroutine: the services, the sessions and the subscribers must share one event loop,
    which is what lets sessions contend for the same agents."""
    rng = SeededRandom(seed)
    bus = EventBus()
    audit_queue, metrics_queue = bus.subscribe("auditor"), bus.subscribe("metrics")
    services = Services(bus, AgentRegistry(bus), ConfigStore(bus), asyncio.Event())
    auditor, per_topic = Auditor(), Counter[str]()
    stop = asyncio.Event()
    consumers = [asyncio.create_task(consume(audit_queue, auditor, stop)),
                 asyncio.create_task(consume(metrics_queue, lambda topic, _: per_topic.update([topic]), stop))]
    plan = [(i, PROTOCOLS[i % 3], rng.choice((4, 5, 7, 8, 10))) for i in range(sessions)]

    async def reload_midway() -> None:
        while bus.published["session.decided"] < sessions // 3:
            await asyncio.sleep(0.01)
        services.config.reload()
        services.reloaded.set()

    started = time.perf_counter()
    reloader = asyncio.create_task(reload_midway())
    records = await asyncio.gather(*(run_session(i, p, size, services, rng.derive(str(i))) for i, p, size in plan))
    await reloader
    stop.set()
    received = await asyncio.gather(*consumers)
    return report(records, services, auditor, per_topic, received, time.perf_counter() - started, seed)


def report(records: list[SessionRecord], services: Services, auditor: Auditor, per_topic: Counter[str],
           received: list[int], wall: float, seed: int) -> dict[str, Any]:
    published = sum(services.bus.published.values())
    after = [r for r in records if r.started_after_reload]
    telemetry_ok = all(r.telemetry.get("session.start") == 1 and r.telemetry.get("session.end") == 1
                       and r.telemetry.get("decision", 0) == r.decisions > 0 for r in records)
    checks = {
        "every session decided with agreement, no violated property":
            all(r.status == "decided" and r.agreement and not r.violations for r in records),
        "no agent leased by two sessions at once; every lease returned":
            not auditor.conflicts and not auditor.holder and len(services.registry.free) == len(POOL),
        "sessions contended for agents (some waited for a lease)": max(services.registry.waits) > 0.001,
        "each session used the configuration current at its start; those after the reload used v2":
            bool(after) and all(r.config_version == 2 for r in after)
            and all(r.config_version == 1 for r in records if not r.started_after_reload),
        "telemetry saw every session start, end and each decision": telemetry_ok,
        "every protocol resolved through the registry": {r.protocol for r in records} == set(PROTOCOLS),
        "every subscriber received every event": received == [published, published],
    }
    return {
        "scenario": "full ecosystem integration (scenario document part 5.1)", "seed": seed,
        "sessions": [r.__dict__ for r in records], "pool": len(POOL), "wall_s": round(wall, 3),
        "lease_wait_s": {"max": round(max(services.registry.waits), 4),
                         "waited": sum(1 for w in services.registry.waits if w > 0.001)},
        "max_agents_in_use": auditor.max_in_use, "events": dict(per_topic), "events_published": published,
        "received_per_subscriber": received, "config_versions": dict(Counter(r.config_version for r in records)),
        "telemetry_events": dict(sum((Counter(r.telemetry) for r in records), Counter())),
        "checks": checks, "passed": all(checks.values()),
    }


def render(result: dict[str, Any]) -> str:
    lines = [f"{'session':<14} {'agents':>6} {'cfg':>3} {'waited s':>8}  status    value   telemetry events"]
    for r in result["sessions"]:
        lines.append(f"{r['session']:<14} {len(r['agents']):>6} v{r['config_version']:<2} {r['waited']:>8.3f}  "
                     f"{r['status']:<9} {r['value']!s:<7} {sum(r['telemetry'].values())}")
    by_kind: defaultdict[str, int] = defaultdict(int)
    for r in result["sessions"]:
        by_kind[r["protocol"]] += 1
    lines.append(f"\n{len(result['sessions'])} sessions ({dict(by_kind)}) over a pool of {result['pool']} agents "
                 f"in {result['wall_s']:.2f} s; at most {result['max_agents_in_use']} agents leased at once; "
                 f"{result['lease_wait_s']['waited']} sessions waited (longest {result['lease_wait_s']['max']:.3f} s)")
    lines.append(f"bus: {result['events_published']} events published {result['events']}; "
                 f"each subscriber received {result['received_per_subscriber']}")
    lines.append(f"configuration versions used: {result['config_versions']}; telemetry: {result['telemetry_events']}")
    lines.append("checks:")
    lines += [f"  [{'PASS' if ok else 'FAIL'}] {name}" for name, ok in result["checks"].items()]
    lines.append(f"overall: {'PASS' if result['passed'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=12, help="concurrent sessions (default 12)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    args = parser.parse_args(argv)
    if args.sessions < 3:
        parser.error("--sessions must be at least 3 (one per protocol)")
    result = asyncio.run(scenario(args.sessions, args.seed))
    print(render(result))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=2, default=str)
        print(f"wrote {args.json}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
