"""The driver core the simulator and the asyncio runtime share.

A live driver runs one protocol instance: it validates its configuration,
hands each event (start, delivery, timer) to the agent's honest handler or its
Byzantine strategy, interprets the effects (through
:func:`mabeam.core.interpret.interpret`, the driver being the sink), handles
crashes and deferred messages, tells observers, and builds the
:class:`~mabeam.live.result.RunResult`. What differs between drivers is only
how time passes and how messages travel, so a subclass provides:

- ``_clock()``: the run's time;
- ``_transmit(i, j, message, depth)`` and ``_fan_out(i, targets, message, depth)``;
- ``_arm(i, name, delay)``, ``_disarm(i, name)`` and ``_disarm_all(i)``.

The run statistics (:class:`~mabeam.live.result.RunLedger`) and the live
property monitor (:class:`~mabeam.live.monitor.LiveMonitor`) are observers like
any other; the core registers them first.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any
from typing import Protocol as Protocol_

from ..core.effects import Defer, Effect, Evidence
from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.interpret import interpret
from ..core.messages import Message
from ..core.observer import DELIVER, REDELIVER, TIMER, ObservedStep, Observer, RunInfo, observers_tuple
from ..core.properties import Property, Snapshot
from ..core.protocol import Protocol, Step
from ..core.rng import SeededRandom
from .deferral import DEFER_CAP, DeferredQueue, changed, redeliver
from .durability import StableStorage
from .monitor import CheckMode, LiveMonitor
from .network import NetworkModel
from .result import MessageStats, RunLedger, RunResult
from .strategy import Strategy, strategy_step

Summarize = Callable[[Mapping[AgentId, Any]], dict[str, Any]]


class StepSource(Protocol_):
    """What computes an honest agent's steps: a :class:`Protocol`, or a stand-in running them elsewhere."""

    def start(self, agent: AgentId) -> Step: ...
    def receive(self, agent: AgentId, state: Any, message: Message) -> Step: ...
    def fire(self, agent: AgentId, state: Any, timer: str) -> Step: ...
    def recover(self, agent: AgentId, durable: Any) -> Step: ...


def positive_int(name: str, value: object) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")


def finite_time(what: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigurationError(f"{what} must be a finite time >= 0, got {value!r}")
    return float(value)


class LiveDriver(ABC):
    """One run of ``protocol`` (see :class:`~mabeam.sim.Simulator` and :class:`~mabeam.runtime.AsyncRuntime`).

    ``crashes`` maps agents to the time they crash; ``byzantine`` maps agents to the
    :class:`~mabeam.live.strategy.Strategy` that replaces their honest handler.
    ``properties`` (default: the protocol's own), ``monitor`` and ``raise_on_violation``
    configure the live monitor. ``defer_cap`` bounds each node's deferred queue;
    ``summarize(states)`` turns the final node states into the result's ``extras``;
    ``observers`` are told everything the run does (see :mod:`mabeam.core.observer`).
    ``local`` names the agents this driver hosts (default: all of them). ``durable``
    is stable storage (:mod:`mabeam.live.durability`): each honest agent's durable
    state is saved before its messages leave, and an agent with a saved state
    starts by recovering from it.
    """

    driver_name = "live"

    def __init__(self, protocol: Protocol, network: NetworkModel | None = None, *, seed: int | str = 0,
                 crashes: Mapping[AgentId, float] | None = None,
                 byzantine: Mapping[AgentId, Strategy] | None = None,
                 properties: Sequence[Property] | None = None, monitor: CheckMode = "auto",
                 raise_on_violation: bool = False, stop_when_decided: bool = False,
                 defer_cap: int = DEFER_CAP, summarize: Summarize | None = None,
                 observers: Sequence[Observer] | None = None, local: Iterable[AgentId] | None = None,
                 check_every: int | None = None, durable: StableStorage | None = None) -> None:
        if not isinstance(protocol, Protocol):
            raise ConfigurationError(f"expected a Protocol, got {type(protocol).__name__}")
        self.protocol = protocol
        self.network = (network or NetworkModel()).validate_for(protocol.agents)
        self.seed = seed
        self.local = (frozenset(protocol.agents) if local is None
                      else frozenset(protocol.membership.require(a) for a in local))
        if not self.local:
            raise ConfigurationError("a driver must host at least one agent")
        self.crashes = {self._hosted(agent, "crash"): finite_time(f"crash time of {agent}", at)
                        for agent, at in (crashes or {}).items()}
        self.strategies = dict(byzantine or {})
        for agent, strategy in self.strategies.items():
            self._hosted(agent, "Byzantine strategy")
            if not isinstance(strategy, Strategy) or strategy.agent != agent:
                raise ConfigurationError(f"the strategy of {agent} must be a Strategy bound to {agent}")
        positive_int("defer_cap", defer_cap)
        positive_int("check_every", check_every)
        self.defer_cap = defer_cap
        self.summarize = summarize
        self.stop_when_decided = stop_when_decided
        self.monitor = LiveMonitor(protocol, properties, byzantine=self.strategies, mode=monitor,
                                   raise_on_violation=raise_on_violation, check_every=check_every)
        self.observers = observers_tuple(observers)
        self.durable = durable
        #: where honest steps are computed: the protocol itself, or a driver's stand-in for nodes run elsewhere
        self._steps: StepSource = protocol
        self._ran = False

    def _hosted(self, agent: AgentId, what: str) -> AgentId:
        self.protocol.membership.require(agent)
        if agent not in self.local:
            raise ConfigurationError(f"a {what} was given for {agent}, which another {self.driver_name} hosts")
        return agent

    # ------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _clock(self) -> float:
        """The run's time: virtual seconds, or real seconds since the run started."""

    @abstractmethod
    def _transmit(self, i: int, j: int, message: Message, depth: int) -> None:
        """Carry ``message`` from agent ``i`` to agent ``j``."""

    @abstractmethod
    def _fan_out(self, i: int, targets: tuple[int, ...], message: Message, depth: int) -> None:
        """Carry one broadcast of agent ``i`` to ``targets``."""

    @abstractmethod
    def _arm(self, i: int, name: str, delay: float) -> None:
        """(Re-)arm agent ``i``'s timer ``name`` to fire after ``delay``."""

    @abstractmethod
    def _disarm(self, i: int, name: str) -> None:
        """Disarm agent ``i``'s timer ``name`` if armed."""

    @abstractmethod
    def _disarm_all(self, i: int) -> None:
        """Disarm every timer of agent ``i`` (it crashed)."""

    # ------------------------------------------------------------------- setup
    def _begin(self) -> None:
        """Per-run state; called once by the subclass's ``run``."""
        if self._ran:
            raise ConfigurationError(f"a {type(self).__name__} runs once; build a new one for another run")
        self._ran = True
        self._started = time.perf_counter()
        protocol = self.protocol
        agents = protocol.agents
        n = len(agents)
        self._index = {a: i for i, a in enumerate(agents)}
        self._agent_ids = agents  # index -> agent, read on every event
        self._all = tuple(range(n))
        self._states: dict[AgentId, Any] = {a: None for a in agents}
        self._saved: dict[AgentId, Any] = {}  # the durable value last written per agent
        self._crashed = [False] * n
        self._crashed_agents: frozenset[AgentId] = frozenset()  # the same, for snapshots (crashes are final)
        self._last_view: Snapshot | None = None
        self._depth = [0] * n
        self._deferred = [DeferredQueue(self.defer_cap) for _ in agents]
        self._strategies = [self.strategies.get(a) for a in agents]
        self._events = 0
        self.stats = MessageStats()
        self._ledger = RunLedger(self.stats)
        byzantine = frozenset(self.strategies)
        self._undecided = {a for a in agents if a not in byzantine and a in self.local}
        for agent, strategy in self.strategies.items():
            strategy.attach(SeededRandom(self.seed).derive(f"strategy/{agent}"))
        #: who hears what: the ledger and the monitor first, then the caller's observers
        self._all_observers: tuple[Observer, ...] = (self._ledger, self.monitor, *self.observers)
        #: the observers that listen to ``on_settled`` (called after every event: skip the no-op ones)
        self._settle_observers = tuple(o for o in self._all_observers if o.watches_settling)
        #: step, timer and fault notifications: the caller's observers, and the monitor if it judges steps
        self._watchers = (self.monitor, *self.observers) if self.monitor.watches_steps else self.observers
        self._actor = 0
        self._actor_byzantine = False
        self._states_view = MappingProxyType(self._states)
        info = RunInfo(self.driver_name, protocol, self.seed, byzantine, snapshot=self._snapshot, view=self._view)
        for observer in self._all_observers:
            observer.on_run_start(info)

    # ------------------------------------------------------------------ events
    def _step(self, i: int, kind: str, payload: Any) -> tuple[Any, tuple[Effect, ...]]:
        """Hand one event to agent ``i`` (its honest handler or its strategy); returns (state before, effects)."""
        agent = self._agent_ids[i]
        strategy = self._strategies[i]
        before = self._states[agent] if strategy is None else None
        self._events += 1
        if strategy is None:
            protocol = self._steps
            if kind == DELIVER:
                step = protocol.receive(agent, before, payload)
            elif kind == TIMER:
                step = protocol.fire(agent, before, payload)
            else:
                step = self._first_step(agent)
            self._states[agent] = step.state
            if self.durable is not None:
                self._persist(agent, step.state)
            effects = step.effects
        elif kind == DELIVER:
            effects = tuple(strategy.on_message(payload))
        elif kind == TIMER:
            effects = tuple(strategy.on_timer(payload))
        else:
            effects = tuple(strategy.on_start())
        if self._watchers:
            self._notify_step(i, kind, payload, before, effects)
        return before, effects

    def _first_step(self, agent: AgentId) -> Step:
        """``start``, or ``recover`` from the durable state stable storage holds for ``agent``."""
        saved = None if self.durable is None else self.durable.load(agent)
        if saved is None:
            return self._steps.start(agent)
        self._saved[agent] = saved
        if self._watchers:
            at = self._clock()
            for observer in self._watchers:
                observer.on_fault(agent, "recovered", at)
        return self._steps.recover(agent, saved)

    def _persist(self, agent: AgentId, state: Any) -> None:
        """Save ``agent``'s durable state if it changed (before the step's effects are interpreted)."""
        assert self.durable is not None
        value = self.protocol.durable(agent, state)
        if value is not None and value != self._saved.get(agent):
            self.durable.save(agent, value)
            self._saved[agent] = value

    def _handle(self, i: int, kind: str, payload: Any, depth: int) -> None:
        """One event end to end: the step, its effects, and the deferred messages it released."""
        if kind == DELIVER:
            self.stats.delivered += 1
            if depth > self._depth[i]:
                self._depth[i] = depth
        elif kind == TIMER and self._watchers:
            self._notify_timer(i, payload, "fire")
        before, effects = self._step(i, kind, payload)
        if effects:
            self._apply(i, effects)
        if self._observes_steps:
            self._stepped(i, kind, payload)
        if self._deferred[i].messages and not self._crashed[i]:  # the deque itself: no __bool__ call
            strategy = self._strategies[i]
            progressed = (changed(before, self._states[self._agent_ids[i]]) if strategy is None
                          else any(type(e) is not Defer for e in effects))
            if progressed:
                self._redeliver(i)

    #: whether :meth:`_stepped` runs after every event (a driver that records global states sets it)
    _observes_steps = False

    def _stepped(self, i: int, kind: str, payload: Any) -> None:
        """After an event's effects, before the deferred messages it released (trace recording hooks in here)."""
        return None

    def _notify_step(self, i: int, kind: str, payload: Any, before: Any, effects: tuple[Effect, ...]) -> None:
        agent = self._agent_ids[i]
        byzantine = self._strategies[i] is not None
        step = ObservedStep(self.protocol, agent, kind, payload, before,
                            None if byzantine else self._states[agent], effects, self._clock(), byzantine)
        for observer in self._watchers:
            observer.on_step(step)

    def _notify_timer(self, i: int, name: str, action: str) -> None:
        agent, at = self.protocol.agents[i], self._clock()
        for observer in self._watchers:
            observer.on_timer(agent, name, action, at)

    def _crash(self, i: int) -> None:
        """Agent ``i`` stops: its timers and deferred messages die with it."""
        agent = self.protocol.agents[i]
        self._crashed[i] = True
        self._crashed_agents = self._crashed_agents | {agent}
        self._deferred[i].clear()
        self._undecided.discard(agent)
        self._disarm_all(i)
        if self._watchers:
            at = self._clock()
            for observer in self._watchers:
                observer.on_fault(agent, "crash", at)

    def _settled(self, instant_over: bool) -> None:
        """Tell the monitor (and observers) that every consequence of the last event was handled."""
        if not self._settle_observers:
            return
        at, events = self._clock(), self._events
        for observer in self._settle_observers:
            observer.on_settled(at, events, instant_over)

    # ---------------------------------------------------------- effect sink
    def _apply(self, i: int, effects: tuple[Effect, ...]) -> None:
        """Interpret agent ``i``'s effects; the driver is the sink (see the methods below)."""
        actor, actor_byzantine = self._actor, self._actor_byzantine
        self._actor, self._actor_byzantine = i, self._strategies[i] is not None
        try:
            interpret(effects, self)
        finally:
            self._actor, self._actor_byzantine = actor, actor_byzantine

    def _impersonates(self, message: Message) -> bool:
        """A Byzantine strategy holds only its own identity: anything else it sends is refused."""
        agent = self.protocol.agents[self._actor]
        if self._actor_byzantine and message.sender != agent:
            self._refuse("impersonation", agent, message)
            return True
        return False

    def send(self, to: AgentId, message: Message) -> None:
        j = self._index.get(to)
        if j is None:
            self._refuse("unknown-recipient", None, message)
        elif not self._impersonates(message):
            self._transmit(self._actor, j, message, self._depth[self._actor] + 1)

    def broadcast(self, message: Message, include_self: bool) -> None:
        if self._impersonates(message):
            return
        i = self._actor
        targets = self._all if include_self else self._all[:i] + self._all[i + 1:]
        self._fan_out(i, targets, message, self._depth[i] + 1)

    def set_timer(self, name: str, delay: float) -> None:
        if not delay >= 0:
            raise ConfigurationError(f"{self.protocol.agents[self._actor]} armed timer {name!r} with delay {delay!r}")
        self._arm(self._actor, name, delay)
        if self._watchers:
            self._notify_timer(self._actor, name, "set")

    def cancel_timer(self, name: str) -> None:
        self._disarm(self._actor, name)
        if self._watchers:
            self._notify_timer(self._actor, name, "cancel")

    def decide(self, value: Any, instance: Any) -> None:
        i = self._actor
        agent = self.protocol.agents[i]
        self._undecided.discard(agent)
        at, depth = self._clock(), self._depth[i]
        for observer in self._all_observers:
            observer.on_decision(agent, value, instance, at, depth)

    def evidence(self, evidence: Evidence) -> None:
        agent, at = self.protocol.agents[self._actor], self._clock()
        for observer in self._all_observers:
            observer.on_evidence(agent, evidence, at)

    def reject(self, reason: str, message: Message | None) -> None:
        at = self._clock()
        sender = None if message is None else message.sender
        for observer in self._all_observers:
            observer.on_rejection(reason, sender, message, at)

    def _refuse(self, reason: str, culprit: AgentId | None, message: Message | None) -> None:
        """A driver-level refusal, attributed to the agent that really sent it (the driver runs the links)."""
        at = self._clock()
        for observer in self._all_observers:
            observer.on_rejection(reason, culprit, message, at)
        if culprit is not None and self._watchers:
            for observer in self._watchers:
                observer.on_fault(culprit, reason, at)

    def defer(self, message: Message) -> None:
        self.stats.deferred += 1
        if not self._deferred[self._actor].add(message):
            self._refuse("defer-overflow", None, None)

    # ---------------------------------------------------------------- deferral
    def _on_redeliver(self, agent: AgentId, message: Message) -> None:  # noqa: B027  # an optional hook
        """Hook called before each redelivery (the simulator logs it)."""

    def _redeliver(self, i: int) -> None:
        """Hand agent ``i`` its deferred messages back, now that its state changed."""
        agent = self.protocol.agents[i]
        strategy = self._strategies[i]
        stats = self.stats

        def receive(state: Any, message: Message) -> tuple[Any, tuple[Effect, ...]]:
            stats.redelivered += 1
            self._events += 1
            self._on_redeliver(agent, message)
            if strategy is None:
                step = self._steps.receive(agent, state, message)
                self._states[agent] = step.state  # a monitor check inside the effects sees it
                if self.durable is not None:
                    self._persist(agent, step.state)
                if self._watchers:
                    self._notify_step(i, REDELIVER, message, state, step.effects)
                return step
            return strategy_step(strategy, state, message)

        final = redeliver(self._states[agent] if strategy is None else 0, self._deferred[i], receive,
                          lambda effects: self._apply(i, effects))
        if strategy is None:
            self._states[agent] = final

    # ------------------------------------------------------------------ results
    def _snapshot(self) -> Snapshot:
        decisions, evidence = self._ledger.facts()
        return self.monitor.snapshot(self._states, self._crashed_agents, decisions, evidence)

    def _view(self) -> Snapshot:
        """The run as it is now, on the driver's own table of states (O(1), see :attr:`RunInfo.view`)."""
        decisions, evidence = self._ledger.facts()
        view = self._last_view  # still the run as it is now if no fact changed: states is the live table
        if (view is None or view.decisions is not decisions or view.evidence is not evidence
                or view.crashed is not self._crashed_agents):
            view = self._last_view = Snapshot(self.protocol, self._states_view, self._crashed_agents,
                                              self.monitor.byzantine, decisions, evidence)
        return view


    def _finish(self, *, duration: float, quiescent: bool, timed_out: bool,
                messages: MessageStats | None = None, log: list[tuple[Any, ...]] | None = None,
                extra_rejections: Mapping[str, int] | None = None) -> RunResult:
        """Final checks, then the one result shape of every live driver."""
        protocol = self.protocol
        agents = protocol.agents
        ledger = self._ledger
        for observer in self._all_observers:
            observer.on_run_stopping(self._clock(), self._events, quiescent, self.network.fair)
        ledger.events = self._events
        byzantine = frozenset(self.strategies)
        crashed = tuple(a for a, c in zip(agents, self._crashed) if c)
        correct = tuple(a for a in agents if a in self.local and a not in byzantine and a not in crashed)
        for reason, count in (extra_rejections or {}).items():
            ledger.rejected[reason] += count
        status, value, agreement, rounds = ledger.outcome(correct, byzantine, self.monitor.violated, protocol)
        result = RunResult(
            driver=self.driver_name, protocol=protocol.name, seed=self.seed, status=status,
            decided_value=value, decisions=ledger.decisions, agreement=agreement, duration=duration,
            rounds=rounds, messages=messages or self.stats, rejected=dict(ledger.rejected),
            evidence=ledger.evidence, properties=self.monitor.to_json(), events=self._events,
            wall_seconds=time.perf_counter() - self._started, crashed=crashed,
            byzantine=tuple(a for a in agents if a in byzantine), quiescent=quiescent,
            timed_out=timed_out, log=log, rejections=ledger.rejections(),
            extras=self.summarize(self._states) if self.summarize is not None else {})
        for observer in self._all_observers:
            observer.on_run_end(result)
        return result
