"""A seeded discrete-event simulator that runs any protocol state machine unchanged.

Events (agent start, message delivery, timer expiry, crash) sit in a ``heapq``
ordered by virtual time, ties broken by a global sequence counter, so the run
depends only on the protocol, the network model and the seed: the same seed
gives the same event log, byte for byte. The :class:`~mabeam.network.NetworkModel`
decides when (and whether) each message arrives.

Timers carry a generation: arming a timer gives it a fresh one and cancelling
forgets it, so an expiry already in the queue for a cancelled or re-armed timer
is recognised as stale and never fires.

A ``Defer`` effect parks the message in the node's bounded deferred queue; it is
handed back, in arrival order, right after the next step that changes the node's
state (see :mod:`mabeam.sim.deferral`).

Broadcast fan-out is n(n-1) deliveries. Over an ideal network (constant
latency, no faults) a broadcast is queued as one entry whose deliveries are
handled in a row: they would be consecutive in (time, sequence) order anyway,
so the run is the same event for event (tested), with far fewer heap operations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from heapq import heappop, heappush
from typing import Any

from ..core.effects import Broadcast, CancelTimer, Decide, Defer, Effect, Evidence, Reject, Send, SetTimer
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.properties import Property
from ..core.protocol import Protocol
from ..core.rng import SeededRandom
from ..monitor import CheckMode, CheckSchedule, LiveMonitor
from ..network import NetworkModel
from .deferral import DEFER_CAP, DeferredQueue, changed
from .redelivery import Redelivery
from .result import RunLedger, RunResult
from .strategy import Strategy

START, DELIVER, TIMER, CRASH, FAN_OUT = 0, 1, 2, 3, 4
EVENT_NAMES = ("start", "deliver", "timer", "crash")
REDELIVER = "redeliver"


class Simulator(Redelivery):
    """One seeded run of ``protocol`` over ``network``, with optional crashes and Byzantine strategies.

    ``monitor`` says when safety properties are checked (see :data:`mabeam.monitor.CheckMode`);
    ``check_every`` adds a check every that many events. They are always checked at the end.
    ``defer_cap`` bounds each node's deferred queue; ``summarize(states)`` (optional) turns
    the final node states into the result's ``extras`` (e.g. a protocol's view count).
    """

    def __init__(self, protocol: Protocol, network: NetworkModel | None = None, *, seed: int | str = 0,
                 crashes: Mapping[AgentId, float] | None = None,
                 byzantine: Mapping[AgentId, Strategy] | None = None,
                 properties: Sequence[Property] | None = None, monitor: CheckMode = "auto",
                 check_every: int | None = None, raise_on_violation: bool = False,
                 until: float | None = None, max_events: int | None = None,
                 stop_when_decided: bool = False, record_log: bool = False,
                 defer_cap: int = DEFER_CAP,
                 summarize: Callable[[Mapping[AgentId, Any]], dict[str, Any]] | None = None) -> None:
        if not isinstance(protocol, Protocol):
            raise ConfigurationError(f"expected a Protocol, got {type(protocol).__name__}")
        self.protocol = protocol
        self.network = (network or NetworkModel()).validate_for(protocol.agents)
        self.seed = seed
        self.crashes = _validated_crashes(protocol, crashes or {})
        self.strategies = dict(byzantine or {})
        for agent, strategy in self.strategies.items():
            protocol.membership.require(agent)
            if not isinstance(strategy, Strategy) or strategy.agent != agent:
                raise ConfigurationError(f"the strategy of {agent} must be a Strategy bound to {agent}")
        for name, value in (("check_every", check_every), ("max_events", max_events),
                            ("defer_cap", defer_cap)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")
        if until is not None and (isinstance(until, bool) or not isinstance(until, (int, float))
                                  or not until >= 0):
            raise ConfigurationError(f"until must be a non-negative time, got {until!r}")
        self.schedule = CheckSchedule(monitor, protocol.n)
        self.check_every = check_every
        self.until = until
        self.max_events = max_events
        self.stop_when_decided = stop_when_decided
        self.record_log = record_log
        self.defer_cap = defer_cap
        self.summarize = summarize
        self.monitor = LiveMonitor(protocol, properties, byzantine=self.strategies,
                                   raise_on_violation=raise_on_violation)
        self._ran = False

    # ------------------------------------------------------------------ run
    @property
    def now(self) -> float:
        """The simulator's virtual time (for reports that timestamp what they observe)."""
        return self._now

    def run(self) -> RunResult:
        if self._ran:
            raise ConfigurationError("a Simulator runs once; build a new one for another run")
        self._ran = True
        started = time.perf_counter()
        protocol = self.protocol
        agents = protocol.agents
        n = len(agents)
        self._index = {a: i for i, a in enumerate(agents)}
        self._rng = SeededRandom(self.seed).derive("network")
        self._ledger = ledger = RunLedger()
        self._states: dict[AgentId, Any] = {a: None for a in agents}
        self._armed: list[dict[str, int]] = [{} for _ in range(n)]
        self._depth = [0] * n
        self._crashed = [False] * n
        self._heap: list[tuple[Any, ...]] = []
        self._seq = 0
        self._now = 0.0
        self._last_event_at = 0.0  # a stale timer moves the clock but is no event of the run
        self._events = 0
        self._log: list[tuple[Any, ...]] | None = [] if self.record_log else None
        self._marked = False  # a decision or evidence since the last monitor check
        #: with constant latency and no faults a broadcast is one queue entry (see _fan_out)
        self._ideal_delay = (self.network.latency.sample(self._rng) if self.network.is_ideal else None)
        self._strategies = [self.strategies.get(a) for a in agents]
        self._deferred = [DeferredQueue(self.defer_cap) for _ in agents]
        for agent, strategy in self.strategies.items():
            strategy.attach(SeededRandom(self.seed).derive(f"strategy/{agent}"))
        byzantine = frozenset(self.strategies)
        self._undecided = {a for a in agents if a not in byzantine}

        for agent, at in sorted(self.crashes.items(), key=lambda kv: (kv[1], self._index[kv[0]])):
            self._push(at, CRASH, self._index[agent], None, 0)
        for i in range(n):
            self._push(0.0, START, i, None, 0)

        timed_out = self._loop()
        heap = self._heap
        quiescent = not heap
        self.monitor.finish(self._snapshot(), self._now, self._events, quiescent=quiescent,
                            fair=self.network.fair)
        ledger.events = self._events
        crashed_agents = tuple(a for a, c in zip(agents, self._crashed) if c)
        correct = tuple(a for a in agents if a not in byzantine and a not in crashed_agents)
        status, value, agreement, rounds = ledger.outcome(correct, byzantine, self.monitor.violated, protocol)
        return RunResult(
            driver="simulator", protocol=protocol.name, seed=self.seed, status=status,
            decided_value=value, decisions=ledger.decisions, agreement=agreement,
            duration=self._last_event_at, rounds=rounds, messages=ledger.messages, rejected=dict(ledger.rejected),
            evidence=ledger.evidence, properties=self.monitor.to_json(), events=self._events,
            wall_seconds=time.perf_counter() - started, crashed=crashed_agents,
            byzantine=tuple(a for a in agents if a in byzantine), quiescent=quiescent,
            timed_out=timed_out, log=self._log, rejections=ledger.rejections(),
            extras=self.summarize(self._states) if self.summarize is not None else {})

    def _loop(self) -> bool:
        """Process events in (time, sequence) order until none are left or a bound is hit.

        Returns whether a bound (``until`` or ``max_events``) stopped the run.
        """
        heap = self._heap
        schedule = self.schedule
        per_event = schedule.per_event
        until = self.until
        max_events = self.max_events
        stop_when_decided = self.stop_when_decided
        dispatch = self._dispatch
        while heap:
            t = heap[0][0]
            if until is not None and t > until:
                return True
            if self._marked and not per_event and t > self._now:
                self._marked = False
                if schedule.due():
                    self._check()
            entry = heappop(heap)
            self._now = t
            if entry[2] != FAN_OUT:
                if max_events is not None and self._events >= max_events:
                    heappush(heap, entry)
                    return True
                dispatch(entry[2], entry[3], entry[4], entry[5], entry[1])
                if stop_when_decided and not self._undecided:
                    return False
                continue
            # one broadcast: its deliveries are consecutive events at one instant, in recipient order;
            # anything they cause is later in (time, sequence), so handling them in a row is exact
            _, seq, _, sender, (message, targets), depth = entry
            for k, j in enumerate(targets):
                if max_events is not None and self._events >= max_events:
                    heappush(heap, (t, seq, FAN_OUT, sender, (message, targets[k:]), depth))
                    return True
                dispatch(DELIVER, j, message, depth, seq)
                if stop_when_decided and not self._undecided:
                    if k + 1 < len(targets):
                        heappush(heap, (t, seq, FAN_OUT, sender, (message, targets[k + 1:]), depth))
                    return False
        return False

    def _dispatch(self, kind: int, i: int, payload: Any, depth: int, seq: int) -> None:
        """Hand one event to agent ``i`` (honest handler or strategy) and interpret the effects."""
        agent = self.protocol.agents[i]
        if self._crashed[i]:
            if kind == DELIVER:
                self._ledger.messages.dropped += 1
            return
        strategy = self._strategies[i]
        before = self._states[agent] if strategy is None else None
        if kind == DELIVER:
            self._ledger.messages.delivered += 1
            if depth > self._depth[i]:
                self._depth[i] = depth
            if strategy is None:
                self._states[agent], effects = self.protocol.receive(agent, before, payload)
            else:
                effects = tuple(strategy.on_message(payload))
        elif kind == TIMER:
            name, generation = payload
            armed = self._armed[i]
            if armed.get(name) != generation:
                return  # cancelled or re-armed since: stale
            del armed[name]
            if strategy is None:
                self._states[agent], effects = self.protocol.fire(agent, before, name)
            else:
                effects = tuple(strategy.on_timer(name))
        elif kind == START:
            if strategy is None:
                self._states[agent], effects = self.protocol.start(agent)
            else:
                effects = tuple(strategy.on_start())
        else:  # CRASH
            self._crashed[i] = True
            self._armed[i].clear()
            self._deferred[i].clear()
            self._undecided.discard(agent)
            effects = ()
        self._events += 1
        self._last_event_at = self._now
        if self._log is not None:
            self._log.append((self._now, seq, EVENT_NAMES[kind], agent, _describe(payload)))
        if effects:
            self._apply(i, agent, effects, strategy is not None)
        if self._deferred[i] and not self._crashed[i]:
            progressed = (changed(before, self._states[agent]) if strategy is None
                          else any(type(e) is not Defer for e in effects))
            if progressed:
                self._redeliver(i, agent, strategy)
        if self._marked and self.schedule.per_event:
            self._marked = False
            if self.schedule.due():
                self._check()
        if self.check_every is not None and self._events % self.check_every == 0:
            self._check()

    # ------------------------------------------------------------- effects
    def _apply(self, i: int, agent: AgentId, effects: tuple[Effect, ...], byzantine: bool) -> None:
        ledger = self._ledger
        depth = self._depth[i] + 1
        for effect in effects:
            kind = type(effect)
            if kind is Broadcast:
                message = effect.message
                if byzantine and message.sender != agent:
                    ledger.refuse("impersonation", agent, message, self._now)
                    continue
                targets = self._all if effect.include_self else self._others(i)
                if self._ideal_delay is not None:
                    ledger.messages.sent += len(targets)
                    self._push(self._now + self._ideal_delay, FAN_OUT, i, (message, targets), depth)
                else:
                    for j in targets:
                        self._transmit(i, j, message, depth)
            elif kind is Send:
                message = effect.message
                j = self._index.get(effect.to)
                if j is None:
                    ledger.rejected["unknown-recipient"] += 1
                elif byzantine and message.sender != agent:
                    ledger.refuse("impersonation", agent, message, self._now)
                else:
                    self._transmit(i, j, message, depth)
            elif kind is SetTimer:
                if not effect.delay >= 0:
                    raise ConfigurationError(
                        f"{agent} armed timer {effect.name!r} with delay {effect.delay!r}")
                self._seq += 1
                self._armed[i][effect.name] = self._seq
                self._push(self._now + effect.delay, TIMER, i, (effect.name, self._seq), 0)
            elif kind is CancelTimer:
                self._armed[i].pop(effect.name, None)
            elif kind is Decide:
                ledger.decide(agent, effect, self._now, self._depth[i])
                self._undecided.discard(agent)
                self._marked = True
            elif kind is Evidence:
                ledger.report(agent, effect, self._now)
                self._marked = True
            elif kind is Reject:
                ledger.reject(effect, self._now)
            elif kind is Defer:
                self._defer(i, effect.message)
            else:
                raise TypeError(f"the simulator does not know effect {kind.__name__}")

    def _on_redeliver(self, agent: AgentId, message: Message) -> None:
        if self._log is not None:
            self._log.append((self._now, 0, REDELIVER, agent, _describe(message)))

    @property
    def _all(self) -> tuple[int, ...]:
        return tuple(range(len(self._crashed)))

    def _others(self, i: int) -> tuple[int, ...]:
        n = len(self._crashed)
        return tuple(range(i)) + tuple(range(i + 1, n))

    def _transmit(self, i: int, j: int, message: Any, depth: int) -> None:
        stats = self._ledger.messages
        stats.sent += 1
        if self._ideal_delay is not None:
            self._push(self._now + self._ideal_delay, DELIVER, j, message, depth)
            return
        agents = self.protocol.agents
        route = self.network.route(agents[i], agents[j], self._now, self._rng)
        stats.duplicated += route.duplicated
        stats.retransmitted += route.retransmissions
        stats.dropped += 1 + route.duplicated - len(route.arrivals)
        for arrival in route.arrivals:
            self._push(arrival, DELIVER, j, message, depth)

    # ------------------------------------------------------------- helpers
    def _push(self, at: float, kind: int, i: int, payload: Any, depth: int) -> None:
        self._seq += 1
        heappush(self._heap, (at, self._seq, kind, i, payload, depth))

    def _snapshot(self) -> Any:
        crashed = [a for a, c in zip(self.protocol.agents, self._crashed) if c]
        return self.monitor.snapshot(self._states, crashed, self._ledger.decision_facts,
                                     self._ledger.evidence_facts)

    def _check(self) -> None:
        self.monitor.check(self._snapshot(), self._now, self._events)


def _validated_crashes(protocol: Protocol, crashes: Mapping[AgentId, float]) -> dict[AgentId, float]:
    out: dict[AgentId, float] = {}
    for agent, at in crashes.items():
        protocol.membership.require(agent)
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at < float("inf"):
            raise ConfigurationError(f"crash time of {agent} must be a finite time >= 0, got {at!r}")
        out[agent] = float(at)
    return out


def _describe(payload: Any) -> str:
    if payload is None:
        return ""
    if isinstance(payload, tuple):
        return f"{payload[0]}#{payload[1]}"
    return f"{payload.sender}:{payload.describe()}"


def simulate(protocol: Protocol, network: NetworkModel | None = None, **options: Any) -> RunResult:
    """Run ``protocol`` once in the simulator (see :class:`Simulator` for the options)."""
    return Simulator(protocol, network, **options).run()
