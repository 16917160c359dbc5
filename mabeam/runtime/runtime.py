"""The live asyncio runtime: one task per agent, real timers, the same state machines.

Each agent owns an ``asyncio.Queue`` inbox and a task that alone reads and
writes that agent's state, so no locks are needed. Messages travel through a
:class:`~mabeam.runtime.transport.Transport`; timers are ``loop.call_later``
handles with the simulator's generation rule (a cancelled or re-armed timer
never fires stale). The run ends at quiescence (nothing in flight, queued or
armed), when every correct agent has decided (if asked), or at the deadline,
which yields an explicit ``no-decision`` result rather than a hang.

A runtime may host only some agents (``local``) and reach the rest through a
transport such as :class:`~mabeam.runtime.tcp.TcpTransport`: it then starts,
runs and reports only its own agents. It cannot see the other processes'
traffic, so it never judges quiescence: it ends when its agents have decided
(``stop_when_decided``) or at the deadline. Its snapshots hold only its own
agents' states, while a protocol's properties speak of the whole group (a
quorum "prepared at f+1 honest replicas" is invisible from one node), so a
partial runtime monitors only the ``properties`` it is explicitly given;
:func:`~mabeam.runtime.cluster.run_local_cluster` checks the protocol's own
properties on the nodes' merged states instead.

``Defer`` effects park a message in the agent's bounded deferred queue; the
agent's own task hands it back right after a step that changed its state (see
:mod:`mabeam.sim.deferral`). Deferred messages are not in flight: a run whose
only leftovers are deferred messages is quiescent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from ..sim.deferral import DEFER_CAP, DeferredQueue, changed
from ..sim.redelivery import Redelivery
from ..sim.result import RunLedger, RunResult
from ..sim.strategy import Strategy
from .transport import InProcessTransport, Transport

_START, _DELIVER, _TIMER = "start", "deliver", "timer"


class AsyncRuntime(Redelivery):
    """One live run of ``protocol`` inside the running event loop (see :meth:`run`).

    Options mirror the simulator's; times (``crashes``, partitions, latencies, timer
    delays) are real seconds since the run started. Real time has no shared instants,
    so for ``monitor`` every deciding event counts as its own instant. A custom
    ``transport`` brings its own network behaviour; ``network`` then only describes it
    (whether links are fair, which decides if liveness can be judged). ``defer_cap`` and
    ``summarize`` are as for the simulator. ``local`` names the agents this runtime hosts
    (default: all); crashes and Byzantine strategies may only be given for them.
    """

    def __init__(self, protocol: Protocol, network: NetworkModel | None = None, *, seed: int | str = 0,
                 timeout: float = 10.0, crashes: Mapping[AgentId, float] | None = None,
                 byzantine: Mapping[AgentId, Strategy] | None = None,
                 properties: Sequence[Property] | None = None, monitor: CheckMode = "auto",
                 raise_on_violation: bool = False, stop_when_decided: bool = False,
                 transport: Transport | None = None, defer_cap: int = DEFER_CAP,
                 summarize: Callable[[Mapping[AgentId, Any]], dict[str, Any]] | None = None,
                 local: Iterable[AgentId] | None = None) -> None:
        if not isinstance(protocol, Protocol):
            raise ConfigurationError(f"expected a Protocol, got {type(protocol).__name__}")
        if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                or not 0 < timeout < float("inf")):
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        self.protocol = protocol
        self.local = (frozenset(protocol.agents) if local is None
                      else frozenset(protocol.membership.require(a) for a in local))
        if not self.local:
            raise ConfigurationError("a runtime must host at least one agent")
        self.partial = len(self.local) < protocol.n
        if self.partial and transport is None:
            raise ConfigurationError("a runtime hosting some of the agents needs a transport that reaches "
                                     "the others (e.g. TcpTransport)")
        self.network = (network or NetworkModel()).validate_for(protocol.agents)
        self.seed = seed
        self.timeout = float(timeout)
        self.crashes = dict(crashes or {})
        for agent, at in self.crashes.items():
            self._require_local(agent, "crash")
            if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at < float("inf"):
                raise ConfigurationError(f"crash time of {agent} must be a finite time >= 0, got {at!r}")
        self.strategies = dict(byzantine or {})
        for agent, strategy in self.strategies.items():
            self._require_local(agent, "Byzantine strategy")
            if not isinstance(strategy, Strategy) or strategy.agent != agent:
                raise ConfigurationError(f"the strategy of {agent} must be a Strategy bound to {agent}")
        if self.partial and properties is None:
            properties = ()  # see the module docstring: group properties need the whole group
        self.schedule = CheckSchedule(monitor, protocol.n)
        self.monitor = LiveMonitor(protocol, properties, byzantine=self.strategies,
                                   raise_on_violation=raise_on_violation)
        if isinstance(defer_cap, bool) or not isinstance(defer_cap, int) or defer_cap < 1:
            raise ConfigurationError(f"defer_cap must be a positive integer, got {defer_cap!r}")
        self.defer_cap = defer_cap
        self.summarize = summarize
        self.stop_when_decided = stop_when_decided
        self.transport = transport or InProcessTransport(self.network, SeededRandom(seed).derive("network"))
        self._ran = False

    def observed(self) -> tuple[dict[AgentId, Any], frozenset[Any], frozenset[Any]]:
        """After :meth:`run`: this runtime's agents' final states, decision facts and evidence."""
        if not self._ran:
            raise ConfigurationError("nothing observed yet: the runtime has not run")
        states = {a: s for a, s in self._states.items() if a in self.local}
        return states, frozenset(self._ledger.decision_facts), frozenset(self._ledger.evidence_facts)

    def _require_local(self, agent: AgentId, what: str) -> None:
        self.protocol.membership.require(agent)
        if agent not in self.local:
            raise ConfigurationError(f"a {what} was given for {agent}, which another runtime hosts")

    # ----------------------------------------------------------------- run
    async def run(self) -> RunResult:
        if self._ran:
            raise ConfigurationError("an AsyncRuntime runs once; build a new one for another run")
        self._ran = True
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        protocol = self.protocol
        agents = protocol.agents
        self._loop = loop
        self._t0 = loop.time()
        self._index = {a: i for i, a in enumerate(agents)}
        self._others = [protocol.membership.others(a) for a in agents]
        self._ledger = RunLedger()
        self._states: dict[AgentId, Any] = {a: None for a in agents}
        self._armed: list[dict[str, tuple[int, asyncio.TimerHandle]]] = [{} for _ in agents]
        self._armed_total = 0
        self._generation = 0
        self._depth = [0] * len(agents)
        self._crashed = [False] * len(agents)
        self._queued = 0
        self._events = 0
        self._undecided = {a for a in agents if a not in self.strategies and a in self.local}
        self._done = asyncio.Event()
        self._failure: BaseException | None = None
        self._deferred = [DeferredQueue(self.defer_cap) for _ in agents]
        for agent, strategy in self.strategies.items():
            strategy.attach(SeededRandom(self.seed).derive(f"strategy/{agent}"))
        self._inboxes: list[asyncio.Queue[tuple[str, Any, int]]] = [asyncio.Queue() for _ in agents]
        start = getattr(self.transport, "start", None)
        if start is not None:  # a network transport listens before the run (idempotent)
            await start()
        self.transport.bind(self._deliver, self._clock)

        crash_handles = [loop.call_later(at, self._crash, self._index[agent])
                         for agent, at in self.crashes.items() if at > 0]
        hosted = [i for i, a in enumerate(agents) if a in self.local]
        tasks = [asyncio.create_task(self._agent_loop(i), name=f"mabeam-agent-{agents[i]}") for i in hosted]
        for i in hosted:
            self._enqueue(i, (_START, None, 0))
        for agent, at in self.crashes.items():
            if at <= 0:  # crashed before starting, as in the simulator
                self._crash(self._index[agent])
        timed_out = False
        try:
            await asyncio.wait_for(self._done.wait(), self.timeout)
        except TimeoutError:
            timed_out = True
        finally:
            quiescent = self._quiescent()
            ended = self._clock()
            for handle in crash_handles:
                handle.cancel()
            for armed in self._armed:
                for _, handle in armed.values():
                    handle.cancel()
            await self.transport.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._failure is not None:
            raise self._failure
        return self._result(started, ended, quiescent, timed_out)

    def _result(self, started: float, ended: float, quiescent: bool, timed_out: bool) -> RunResult:
        agents = self.protocol.agents
        ledger = self._ledger
        byzantine = frozenset(self.strategies)
        crashed = tuple(a for a, c in zip(agents, self._crashed) if c)
        self.monitor.finish(self._snapshot(), ended, self._events, quiescent=quiescent,
                            fair=self.network.fair)
        correct = tuple(a for a in agents if a in self.local and a not in byzantine and a not in crashed)
        for reason, count in self.transport.rejections().items():
            ledger.rejected[reason] += count
        status, value, agreement, rounds = ledger.outcome(correct, byzantine, self.monitor.violated,
                                                         self.protocol)
        stats = self.transport.stats
        stats.delivered = ledger.messages.delivered
        stats.deferred = ledger.messages.deferred
        stats.redelivered = ledger.messages.redelivered
        stats.dropped += ledger.messages.dropped  # copies that reached a crashed agent
        return RunResult(
            driver="runtime", protocol=self.protocol.name, seed=self.seed, status=status,
            decided_value=value, decisions=ledger.decisions, agreement=agreement, duration=ended,
            rounds=rounds, messages=stats, rejected=dict(ledger.rejected), evidence=ledger.evidence,
            properties=self.monitor.to_json(), events=self._events,
            wall_seconds=time.perf_counter() - started, crashed=crashed,
            byzantine=tuple(a for a in agents if a in byzantine), quiescent=quiescent,
            timed_out=timed_out, rejections=ledger.rejections(),
            extras=self.summarize(self._states) if self.summarize is not None else {})

    # -------------------------------------------------------------- agents
    async def _agent_loop(self, i: int) -> None:
        agent = self.protocol.agents[i]
        inbox = self._inboxes[i]
        strategy = self.strategies.get(agent)
        protocol = self.protocol
        while True:
            kind, payload, depth = await inbox.get()
            try:
                before = self._states[agent]
                effects = self._handle(i, agent, strategy, protocol, kind, payload, depth)
                if effects:
                    self._apply(i, agent, effects, strategy is not None)
                if self._deferred[i] and not self._crashed[i]:
                    progressed = (changed(before, self._states[agent]) if strategy is None
                                  else any(type(e) is not Defer for e in effects))
                    if progressed:
                        self._redeliver(i, agent, strategy)
            except Exception as exc:  # a protocol bug or a requested PropertyViolation ends the run
                if self._failure is None:
                    self._failure = exc
                self._done.set()
                return
            finally:
                self._queued -= 1
            if self._quiescent() or (self.stop_when_decided and not self._undecided):
                self._done.set()

    def _handle(self, i: int, agent: AgentId, strategy: Strategy | None, protocol: Protocol,
                kind: str, payload: Any, depth: int) -> tuple[Effect, ...]:
        if self._crashed[i]:
            if kind == _DELIVER:
                self._ledger.messages.dropped += 1
            return ()
        if kind == _DELIVER:
            self._ledger.messages.delivered += 1
            self._depth[i] = max(self._depth[i], depth)
            self._events += 1
            if strategy is not None:
                return tuple(strategy.on_message(payload))
            self._states[agent], effects = protocol.receive(agent, self._states[agent], payload)
            return effects
        if kind == _TIMER:
            name, generation = payload
            armed = self._armed[i].get(name)
            if armed is None or armed[0] != generation:
                return ()  # cancelled or re-armed since: stale
            del self._armed[i][name]
            self._armed_total -= 1
            self._events += 1
            if strategy is not None:
                return tuple(strategy.on_timer(name))
            self._states[agent], effects = protocol.fire(agent, self._states[agent], name)
            return effects
        self._events += 1
        if strategy is not None:
            return tuple(strategy.on_start())
        self._states[agent], effects = protocol.start(agent)
        return effects

    def _apply(self, i: int, agent: AgentId, effects: tuple[Effect, ...], byzantine: bool) -> None:
        ledger = self._ledger
        depth = self._depth[i] + 1
        marked = False
        for effect in effects:
            kind = type(effect)
            if kind is Broadcast or kind is Send:
                message = effect.message
                if byzantine and message.sender != agent:
                    ledger.refuse("impersonation", agent, message, self._clock())
                    continue
                if kind is Send:
                    if effect.to not in self._index:
                        ledger.rejected["unknown-recipient"] += 1
                        continue
                    self.transport.send(agent, effect.to, message, depth)
                else:
                    recipients = (self.protocol.agents if effect.include_self
                                  else self._others[i])
                    self.transport.broadcast(agent, recipients, message, depth)
            elif kind is SetTimer:
                self._arm(i, effect.name, effect.delay)
            elif kind is CancelTimer:
                armed = self._armed[i].pop(effect.name, None)
                if armed is not None:
                    armed[1].cancel()
                    self._armed_total -= 1
            elif kind is Decide:
                ledger.decide(agent, effect, self._clock(), self._depth[i])
                self._undecided.discard(agent)
                marked = True
            elif kind is Evidence:
                ledger.report(agent, effect, self._clock())
                marked = True
            elif kind is Reject:
                ledger.reject(effect, self._clock())
            elif kind is Defer:
                self._defer(i, effect.message)
            else:
                raise TypeError(f"the runtime does not know effect {kind.__name__}")
        if marked and self.schedule.due():
            self.monitor.check(self._snapshot(), self._clock(), self._events)

    def _arm(self, i: int, name: str, delay: float) -> None:
        if not delay >= 0:
            raise ConfigurationError(f"{self.protocol.agents[i]} armed timer {name!r} with delay {delay!r}")
        previous = self._armed[i].get(name)
        if previous is None:
            self._armed_total += 1
        else:
            previous[1].cancel()
        self._generation += 1
        generation = self._generation
        handle = self._loop.call_later(delay, self._enqueue, i, (_TIMER, (name, generation), 0))
        self._armed[i][name] = (generation, handle)

    # ------------------------------------------------------------- plumbing
    def _clock(self) -> float:
        return self._loop.time() - self._t0

    def _enqueue(self, i: int, item: tuple[str, Any, int]) -> None:
        self._queued += 1
        self._inboxes[i].put_nowait(item)

    def _deliver(self, to: AgentId, message: Message, depth: int) -> None:
        if self.partial and to not in self.local:
            self._ledger.rejected["unknown-recipient"] += 1  # a transport misrouted it: nobody here reads it
            return
        self._enqueue(self._index[to], (_DELIVER, message, depth))

    def _crash(self, i: int) -> None:
        """Runs on the loop between agent steps: the agent stops; its timers die with it."""
        self._crashed[i] = True
        self._deferred[i].clear()
        self._undecided.discard(self.protocol.agents[i])
        for _, handle in self._armed[i].values():
            handle.cancel()
        self._armed_total -= len(self._armed[i])
        self._armed[i].clear()
        if self._quiescent() or (self.stop_when_decided and not self._undecided):
            self._done.set()

    def _quiescent(self) -> bool:
        if self.partial:
            return False  # the other processes may still be talking
        return self._queued == 0 and self._armed_total == 0 and self.transport.in_flight == 0

    def _snapshot(self) -> Any:
        crashed = [a for a, c in zip(self.protocol.agents, self._crashed) if c]
        return self.monitor.snapshot(self._states, crashed, self._ledger.decision_facts,
                                     self._ledger.evidence_facts)


async def run_async(protocol: Protocol, network: NetworkModel | None = None, **options: Any) -> RunResult:
    """Run ``protocol`` live in the current event loop (options as for :class:`AsyncRuntime`)."""
    return await AsyncRuntime(protocol, network, **options).run()


def run_live(protocol: Protocol, network: NetworkModel | None = None, **options: Any) -> RunResult:
    """Run ``protocol`` live in a fresh event loop (for callers without one)."""
    return asyncio.run(run_async(protocol, network, **options))
