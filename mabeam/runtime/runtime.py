"""The live asyncio runtime: the agents' events in arrival order, real timers, the same state machines.

Every event (a start, a delivery, a timer) is queued as it arrives, and one task
hands them to their agents in that order, so steps never overlap and no locks are
needed: every agent is equally fast, as on a network of equal machines. Draining
one agent's inbox at a time instead lets an early agent run far ahead on work that
no longer matters to the others (at n = 100, PBFT's last decision came 19,867 events
into the run that way, against 16,633 in arrival order). A driver that awaits
something per event (the Ray driver's remote steps, :attr:`AsyncRuntime._prefetch`)
gets one task per agent instead, each with its own inbox (:class:`Inbox`), so the
agents' awaits overlap. Messages travel through a
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
:mod:`mabeam.live.deferral`). Deferred messages are not in flight: a run whose
only leftovers are deferred messages is quiescent.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from ..core.errors import ConfigurationError
from ..core.identity import AgentId
from ..core.messages import Message
from ..core.observer import DELIVER, START, TIMER, Observer
from ..core.properties import Property
from ..core.protocol import Protocol
from ..core.rng import SeededRandom
from ..live.deferral import DEFER_CAP
from ..live.driver import LiveDriver, Summarize
from ..live.durability import StableStorage
from ..live.monitor import CheckMode
from ..live.network import NetworkModel
from ..live.result import RunResult
from ..live.strategy import Strategy
from .ahead import AHEAD_BACKLOG, AheadVerifier
from .transport import InProcessTransport, Transport

#: the longest a run waits for its transport to close after its own deadline
CLOSE_DEADLINE = 5.0
#: events handled in a row before the arrival-order task lets the loop run its callbacks (sockets, timers)
EVENTS_PER_TURN = 512

Item = tuple[str, Any, int]


class Inbox:
    """One agent's FIFO of events: a deque its task drains, and a future that wakes the task once it ran dry.

    What :class:`asyncio.Queue` does for one consumer and unbounded size, without a coroutine,
    a putter wake-up and a size check per item (the runtime's per-message floor at n = 100).
    """

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: deque[Item] = deque()
        self.waiter: asyncio.Future[None] | None = None

    def put(self, item: Item) -> None:
        self.items.append(item)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, loop: asyncio.AbstractEventLoop) -> None:
        """Until something is queued (returns at once if something is)."""
        if not self.items:
            waiter = self.waiter = loop.create_future()
            await waiter


class AsyncRuntime(LiveDriver):
    """One live run of ``protocol`` inside the running event loop (see :meth:`run`).

    Options are those of :class:`~mabeam.live.driver.LiveDriver`; times (``crashes``,
    partitions, latencies, timer delays) are real seconds since the run started. Real
    time has no shared instants, so for ``monitor`` every deciding event counts as its
    own instant. A custom ``transport`` brings its own network behaviour; ``network``
    then only describes it (whether links are fair, which decides if liveness can be
    judged). ``local`` names the agents this runtime hosts (default: all); crashes and
    Byzantine strategies may only be given for them. ``timeout`` bounds the run in seconds.
    ``durable`` (e.g. :class:`~mabeam.runtime.store.DurableLog`) keeps each agent's durable
    state: written before its messages leave, recovered from when the node restarts.
    ``verify_ahead`` checks signatures in a helper process from a message's send on, with
    agents hosted in-process (:mod:`~mabeam.runtime.ahead`; ``None``: when the protocol's
    authenticator uses Ed25519 and the machine has a second core); it changes timing only,
    never a verdict.
    """

    driver_name = "runtime"
    #: awaited before an event is dispatched (the Ray driver computes the agent's step on its actor there)
    _prefetch: Callable[[int, str, Any], Awaitable[None]] | None = None
    _ahead: AheadVerifier | None = None

    def __init__(self, protocol: Protocol, network: NetworkModel | None = None, *, seed: int | str = 0,
                 timeout: float = 10.0, crashes: Mapping[AgentId, float] | None = None,
                 byzantine: Mapping[AgentId, Strategy] | None = None,
                 properties: Sequence[Property] | None = None, monitor: CheckMode = "auto",
                 raise_on_violation: bool = False, stop_when_decided: bool = False,
                 transport: Transport | None = None, defer_cap: int = DEFER_CAP,
                 summarize: Summarize | None = None, local: Iterable[AgentId] | None = None,
                 observers: Sequence[Observer] | None = None, durable: StableStorage | None = None,
                 verify_ahead: bool | None = None) -> None:
        if (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                or not 0 < timeout < float("inf")):
            raise ConfigurationError(f"timeout must be a positive number of seconds, got {timeout!r}")
        local = None if local is None else tuple(local)
        if local is not None and isinstance(protocol, Protocol) and len(set(local)) < protocol.n \
                and properties is None:
            properties = ()  # see the module docstring: group properties need the whole group
        super().__init__(protocol, network, seed=seed, crashes=crashes, byzantine=byzantine,
                         properties=properties, monitor=monitor, raise_on_violation=raise_on_violation,
                         stop_when_decided=stop_when_decided, defer_cap=defer_cap, summarize=summarize,
                         observers=observers, local=local, durable=durable)
        self.partial = len(self.local) < protocol.n
        if self.partial and transport is None:
            raise ConfigurationError("a runtime hosting some of the agents needs a transport that reaches "
                                     "the others (e.g. TcpTransport)")
        self.timeout = float(timeout)
        if verify_ahead not in (None, True, False):
            raise ConfigurationError(f"verify_ahead must be True, False or None (automatic), got {verify_ahead!r}")
        self.verify_ahead = verify_ahead
        self.transport_close_timed_out = False
        self.transport = transport or InProcessTransport(self.network, SeededRandom(seed).derive("network"))

    def observed(self) -> tuple[dict[AgentId, Any], frozenset[Any], frozenset[Any]]:
        """After :meth:`run`: this runtime's agents' final states, decision facts and evidence."""
        if not self._ran:
            raise ConfigurationError("nothing observed yet: the runtime has not run")
        states = {a: s for a, s in self._states.items() if a in self.local}
        return states, frozenset(self._ledger.decision_facts), frozenset(self._ledger.evidence_facts)

    # ----------------------------------------------------------------- run
    async def run(self) -> RunResult:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._start_verifying_ahead()  # before the clock: the helper process is the Python process's, not the run's
        try:
            return await self._run(loop)
        finally:
            self._stop_verifying_ahead()

    async def _run(self, loop: asyncio.AbstractEventLoop) -> RunResult:
        self._time = loop.time
        self._t0 = loop.time()
        self._begin()
        agents = self.protocol.agents
        self._armed: list[dict[str, tuple[int, asyncio.TimerHandle]]] = [{} for _ in agents]
        self._armed_total = 0
        self._generation = 0
        self._queued = 0
        self._done = asyncio.Event()
        self._failure: BaseException | None = None
        self._in_arrival_order = self._prefetch is None
        self._event_queue: deque[tuple[int, Item]] = deque()  # in arrival order
        self._arrival_waiter: asyncio.Future[None] | None = None
        self._inboxes = [] if self._in_arrival_order else [Inbox() for _ in agents]  # one per agent task
        start = getattr(self.transport, "start", None)
        if start is not None:  # a network transport listens before the run (idempotent)
            await start()
        self.transport.bind(self._deliver, self._clock, acknowledges=True)
        self._acknowledges = type(self.transport).processed is not Transport.processed  # skip the no-op

        crash_handles = [loop.call_later(at, self._crash_now, self._index[agent])
                         for agent, at in self.crashes.items() if at > 0]
        hosted = [i for i, a in enumerate(agents) if a in self.local]
        self._unstarted = len(hosted)  # the monitor judges once every hosted agent has started (see _dispatch)
        tasks = ([asyncio.create_task(self._arrival_loop(), name="mabeam-agents")] if self._in_arrival_order else
                 [asyncio.create_task(self._agent_loop(i), name=f"mabeam-agent-{agents[i]}") for i in hosted])
        for i in hosted:
            self._enqueue(i, (START, None, 0))
        for agent, at in self.crashes.items():
            if at <= 0:  # crashed before starting, as in the simulator
                self._crash_now(self._index[agent])
        timed_out = False
        try:
            await asyncio.wait_for(self._done.wait(), self.timeout)
        except TimeoutError:
            timed_out = True
        finally:
            quiescent = self._quiescent()
            self._ended = self._clock()
            for handle in crash_handles:
                handle.cancel()
            for armed in self._armed:
                for _, handle in armed.values():
                    handle.cancel()
            try:  # a transport's close is bounded by its own design; this is the last resort if it is not
                async with asyncio.timeout(CLOSE_DEADLINE):
                    await self.transport.close()
            except TimeoutError:
                self.transport_close_timed_out = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._failure is not None:
            raise self._failure
        return self._result(quiescent, timed_out)

    def _start_verifying_ahead(self) -> None:
        """In-process, a message is checked from its send on. Ray actors verify in their own processes,
        and over a network a message's receiver is its first reader (checking it on arrival in a helper
        gained nothing measurable over TLS)."""
        self._ahead = None
        if self._prefetch is None and isinstance(self.transport, InProcessTransport):
            self._ahead = AheadVerifier.wanted(self.protocol.authenticator(), self.verify_ahead, self._loop)

    def _stop_verifying_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def _result(self, quiescent: bool, timed_out: bool) -> RunResult:
        stats = self.transport.stats
        mine = self.stats
        stats.delivered = mine.delivered
        stats.deferred = mine.deferred
        stats.redelivered = mine.redelivered
        stats.dropped += mine.dropped  # copies that reached a crashed agent
        return self._finish(duration=self._ended, quiescent=quiescent, timed_out=timed_out, messages=stats,
                            extra_rejections=self.transport.rejections())

    # -------------------------------------------------------------- agents
    async def _arrival_loop(self) -> None:
        """Every hosted agent's events, one at a time, in the order they were queued."""
        events, loop = self._event_queue, self._loop
        turn = 0
        while True:
            if not events:
                waiter = self._arrival_waiter = loop.create_future()
                await waiter
                turn = 0
                continue
            turn += 1
            if turn > EVENTS_PER_TURN:
                turn = 0
                await asyncio.sleep(0)
                continue
            i, item = events.popleft()
            if not self._process(i, item):
                return

    async def _agent_loop(self, i: int) -> None:
        """Agent ``i``'s events, awaiting :attr:`_prefetch` before each (one such task per agent)."""
        inbox = self._inboxes[i]
        items, loop = inbox.items, self._loop
        prefetch = self._prefetch
        assert prefetch is not None
        while True:
            if not items:
                await inbox.wait(loop)
                continue
            item = items[0]
            try:
                await prefetch(i, item[0], item[1])
            except Exception as exc:
                self._fail(exc)
                return
            if not self._process(i, items.popleft()):
                return

    def _process(self, i: int, item: Item) -> bool:
        """Hand one queued event to agent ``i``; False once the run has failed (it then ends)."""
        kind, payload, depth = item
        try:
            self._dispatch(i, kind, payload, depth)
        except Exception as exc:  # a protocol bug or a requested PropertyViolation ends the run
            self._fail(exc)
            return False
        finally:
            self._queued -= 1
            if kind == DELIVER and self._acknowledges:
                self.transport.processed(payload)
        if (self._queued == 0 and self._quiescent()) or (self.stop_when_decided and not self._undecided):
            self._done.set()
        return True

    def _fail(self, exc: BaseException) -> None:
        if self._failure is None:
            self._failure = exc
        self._done.set()

    def _dispatch(self, i: int, kind: str, payload: Any, depth: int) -> None:
        if kind == START:
            self._unstarted -= 1
        if self._crashed[i]:
            if kind == DELIVER:
                self.stats.dropped += 1
            return
        if kind == TIMER:
            name, generation = payload
            armed = self._armed[i].get(name)
            if armed is None or armed[0] != generation:
                return  # cancelled or re-armed since: stale
            del self._armed[i][name]
            self._armed_total -= 1
            payload = name
        self._handle(i, kind, payload, depth)
        if not self._unstarted and self._settle_observers:  # a restarting group is not judged half-restarted
            self._settled(instant_over=True)

    # -------------------------------------------------------- driver hooks
    def _clock(self) -> float:
        return self._time() - self._t0

    def _transmit(self, i: int, j: int, message: Message, depth: int) -> None:
        agents = self.protocol.agents
        if self._ahead is not None and self._queued >= AHEAD_BACKLOG:
            self._ahead.submit(message)
        self.transport.send(agents[i], agents[j], message, depth)

    def _fan_out(self, i: int, targets: tuple[int, ...], message: Message, depth: int) -> None:
        agents = self.protocol.agents
        if self._ahead is not None and self._queued >= AHEAD_BACKLOG:
            self._ahead.submit(message)
        self.transport.broadcast(agents[i], tuple(agents[j] for j in targets), message, depth)

    def _arm(self, i: int, name: str, delay: float) -> None:
        previous = self._armed[i].get(name)
        if previous is None:
            self._armed_total += 1
        else:
            previous[1].cancel()
        self._generation += 1
        generation = self._generation
        handle = self._loop.call_later(delay, self._enqueue, i, (TIMER, (name, generation), 0))
        self._armed[i][name] = (generation, handle)

    def _disarm(self, i: int, name: str) -> None:
        armed = self._armed[i].pop(name, None)
        if armed is not None:
            armed[1].cancel()
            self._armed_total -= 1

    def _disarm_all(self, i: int) -> None:
        for _, handle in self._armed[i].values():
            handle.cancel()
        self._armed_total -= len(self._armed[i])
        self._armed[i].clear()

    # ------------------------------------------------------------- plumbing
    def _enqueue(self, i: int, item: Item) -> None:
        self._queued += 1
        self._put(i, item)

    def _put(self, i: int, item: Item) -> None:
        """Queue an already counted event for agent ``i`` (in arrival order, or in its own inbox)."""
        if not self._in_arrival_order:
            self._inboxes[i].put(item)
            return
        self._event_queue.append((i, item))
        waiter = self._arrival_waiter
        if waiter is not None:
            self._arrival_waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _deliver(self, to: AgentId, message: Message, depth: int) -> None:
        if self.partial and to not in self.local:
            self._refuse("unknown-recipient", None, message)  # a transport misrouted it: nobody here reads it
            return
        self._enqueue(self._index[to], (DELIVER, message, depth))

    def _crash_now(self, i: int) -> None:
        """Runs on the loop between agent steps: the agent stops; its timers die with it."""
        self._crash(i)
        if self._quiescent() or (self.stop_when_decided and not self._undecided):
            self._done.set()

    def _quiescent(self) -> bool:
        if self.partial:
            return False  # the other processes may still be talking
        return self._queued == 0 and self._armed_total == 0 and self.transport.in_flight == 0


async def run_async(protocol: Protocol, network: NetworkModel | None = None, **options: Any) -> RunResult:
    """Run ``protocol`` live in the current event loop (options as for :class:`AsyncRuntime`)."""
    return await AsyncRuntime(protocol, network, **options).run()


def run_live(protocol: Protocol, network: NetworkModel | None = None, **options: Any) -> RunResult:
    """Run ``protocol`` live in a fresh event loop (for callers without one)."""
    return asyncio.run(run_async(protocol, network, **options))
