"""How the asyncio runtime moves messages between agents.

The runtime talks to a :class:`Transport` only: ``send`` a message, and the
transport later calls the ``deliver`` callback it was bound to on the receiving
side. Protocols never see it. :class:`InProcessTransport` applies a
:class:`~mabeam.live.network.NetworkModel` to deliveries inside one event loop; a TCP
transport (:class:`~mabeam.runtime.tcp.TcpTransport`) encodes with ``protocol.codec``,
frames the bytes, decodes on the other side (rejecting malformed frames) and
calls the same ``deliver``.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable

from ..core.identity import AgentId
from ..core.messages import Message
from ..core.rng import SeededRandom
from ..live.network import NetworkModel
from ..live.result import MessageStats

#: ``deliver(to, message, depth)``: hand a message to the receiving agent's inbox
Deliver = Callable[[AgentId, Message, int], None]


class Transport(ABC):
    """A message carrier between agents of one run."""

    stats: MessageStats

    @abstractmethod
    def bind(self, deliver: Deliver, clock: Callable[[], float], *, acknowledges: bool = False) -> None:
        """Where arriving messages go, and the run's clock (seconds since it started).

        ``acknowledges=True``: the caller will call :meth:`processed` for every
        delivered message once it has handled it, so a transport that bounds its
        memory may keep the message's bytes counted until then.
        """

    @abstractmethod
    def send(self, sender: AgentId, to: AgentId, message: Message, depth: int) -> None:
        """Accept a message for delivery (never blocks; may lose, delay or copy it)."""

    def broadcast(self, sender: AgentId, recipients: tuple[AgentId, ...], message: Message, depth: int) -> None:
        """Send one message to several agents (transports may batch the deliveries)."""
        for to in recipients:
            self.send(sender, to, message, depth)

    def processed(self, message: Message) -> None:  # noqa: B027  # an optional hook
        """The runtime has handled a delivered ``message`` (see :meth:`bind`); nothing to do by default."""

    def rejections(self) -> dict[str, int]:
        """What the transport itself refused, by reason (e.g. malformed frames); none by default."""
        return {}

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Messages accepted and not yet delivered or dropped (0 means nothing more will arrive)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop delivering: pending deliveries are discarded."""


class InProcessTransport(Transport):
    """Deliveries scheduled with ``loop.call_later`` according to a network model.

    Over an ideal network with a positive constant latency every message arrives a fixed
    delay after it was sent, so arrival order is send order: those deliveries wait in one
    FIFO queue served by a single timer for its head, instead of one timer-heap entry and
    one callback per message (a linear vote of 200 agents sends 199 messages at once).
    """

    def __init__(self, network: NetworkModel, rng: SeededRandom) -> None:
        self.network = network
        self.rng = rng
        self.stats = MessageStats()
        self._pending: dict[int, asyncio.Handle] = {}
        self._next_id = 0
        self._deliver: Deliver | None = None
        self._clock: Callable[[], float] = lambda: 0.0
        self._closed = False
        #: (arrival, recipient or recipients, message, depth), in arrival order (ideal, delayed links only)
        self._timed: deque[tuple[float, AgentId | tuple[AgentId, ...], Message, int]] = deque()
        self._timed_handle: asyncio.TimerHandle | None = None

    def bind(self, deliver: Deliver, clock: Callable[[], float], *, acknowledges: bool = False) -> None:
        self._deliver = deliver
        self._clock = clock

    @property
    def in_flight(self) -> int:
        return len(self._pending) + len(self._timed)

    def send(self, sender: AgentId, to: AgentId, message: Message, depth: int) -> None:
        if self._closed:
            return
        self.stats.sent += 1
        now = self._clock()
        route = self.network.route(sender, to, now, self.rng)
        self.stats.duplicated += route.duplicated
        self.stats.retransmitted += route.retransmissions
        self.stats.dropped += 1 + route.duplicated - len(route.arrivals)
        loop = asyncio.get_running_loop()
        for arrival in route.arrivals:
            delay = arrival - now
            if delay > 0 and self.network.is_ideal:  # arrival order is send order: the one FIFO timer
                self._queue_timed(loop, arrival, delay, to, message, depth)
                continue
            self._next_id += 1
            ident = self._next_id
            # call_soon skips the timer heap: same order (FIFO), far cheaper for zero-latency links
            self._pending[ident] = (loop.call_later(delay, self._arrive, ident, to, message, depth)
                                    if delay > 0 else loop.call_soon(self._arrive, ident, to, message, depth))

    def broadcast(self, sender: AgentId, recipients: tuple[AgentId, ...], message: Message, depth: int) -> None:
        """Over an ideal network every copy arrives after the same delay: one handle delivers them all.

        The copies reach the inboxes in recipient order, as separate sends would
        (their handles would run back to back), at a fraction of the loop's cost.
        """
        if not self.network.is_ideal or type(self).send is not InProcessTransport.send:
            super().broadcast(sender, recipients, message, depth)  # a subclass intercepting send sees every copy
            return
        if self._closed or not recipients:
            return
        self.stats.sent += len(recipients)
        delay = self.network.latency.sample(self.rng)
        loop = asyncio.get_running_loop()
        if delay > 0:
            self._queue_timed(loop, self._clock() + delay, delay, recipients, message, depth)
            return
        self._next_id += 1
        ident = self._next_id
        self._pending[ident] = loop.call_soon(self._arrive_all, ident, recipients, message, depth)

    def _queue_timed(self, loop: asyncio.AbstractEventLoop, arrival: float, delay: float,
                     to: AgentId | tuple[AgentId, ...], message: Message, depth: int) -> None:
        self._timed.append((arrival, to, message, depth))
        if self._timed_handle is None:  # the queue was empty: this is its head
            self._timed_handle = loop.call_later(delay, self._arrive_timed)

    def _arrive_timed(self) -> None:
        """The head's time has come: deliver it and everything else now due, then wait for the next."""
        assert self._deliver is not None, "transport used before bind()"
        timed, now = self._timed, self._clock()
        due = True  # the head is due (the loop may run a timer a clock tick early)
        while timed and (due or timed[0][0] <= now):
            due = False
            _, to, message, depth = timed.popleft()
            if isinstance(to, tuple):
                for each in to:
                    self._deliver(each, message, depth)
            else:
                self._deliver(to, message, depth)
        self._timed_handle = (asyncio.get_running_loop().call_later(max(0.0, timed[0][0] - now), self._arrive_timed)
                              if timed else None)

    def _arrive_all(self, ident: int, recipients: tuple[AgentId, ...], message: Message, depth: int) -> None:
        del self._pending[ident]
        assert self._deliver is not None, "transport used before bind()"
        for to in recipients:
            self._deliver(to, message, depth)

    def _arrive(self, ident: int, to: AgentId, message: Message, depth: int) -> None:
        del self._pending[ident]
        assert self._deliver is not None, "transport used before bind()"
        self._deliver(to, message, depth)

    async def close(self) -> None:
        self._closed = True
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        if self._timed_handle is not None:
            self._timed_handle.cancel()
            self._timed_handle = None
        self._timed.clear()
