"""Deferred messages: what a live driver does with a :class:`~mabeam.core.effects.Defer` effect.

A node that answers ``Defer(message)`` says "not yet": the message arrived
before the node can use it. Live drivers keep such messages in a bounded FIFO
per node and hand them back, in arrival order, right after a step that changed
the node's state. The queue is bounded (a Byzantine peer could otherwise flood
it with messages that never become usable): on overflow the oldest message is
dropped and counted as ``defer-overflow``.

:func:`redeliver` is the one redelivery loop the simulator, the runtime and
:class:`~mabeam.live.strategy.HonestStrategy` share. It repeats passes over the
queue only while a pass changed the state, and never more passes than there
were messages, so it always terminates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from ..core.effects import Effect
from ..core.messages import Message

#: default bound of one node's deferred queue
DEFER_CAP = 4096


class DeferredQueue:
    """A bounded FIFO of the messages one node deferred."""

    __slots__ = ("cap", "messages")

    def __init__(self, cap: int = DEFER_CAP) -> None:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
            raise ValueError(f"a deferred queue needs a positive capacity, got {cap!r}")
        self.cap = cap
        self.messages: deque[Message] = deque()

    def add(self, message: Message) -> bool:
        """Queue ``message``; ``False`` when that pushed out the oldest one (an overflow)."""
        self.messages.append(message)
        if len(self.messages) > self.cap:
            self.messages.popleft()
            return False
        return True

    def take_all(self) -> list[Message]:
        messages = list(self.messages)
        self.messages.clear()
        return messages

    def clear(self) -> None:
        self.messages.clear()

    def __len__(self) -> int:
        return len(self.messages)

    def __bool__(self) -> bool:
        return bool(self.messages)


def changed(old: Any, new: Any) -> bool:
    """Whether a step changed the node's state (identity first: the common case is cheap)."""
    return new is not old and new != old


def redeliver(state: Any, queue: DeferredQueue, receive: Callable[[Any, Message], tuple[Any, tuple[Effect, ...]]],
              emit: Callable[[tuple[Effect, ...]], None]) -> Any:
    """Hand ``queue``'s messages back to the node after its state changed; returns the final state.

    ``receive(state, message)`` is one protocol step; ``emit(effects)`` interprets its
    effects, and must put any new ``Defer`` back into ``queue``. A pass that changes
    the state consumes at least one message (a deferring step leaves the state as it
    was), so bounding the passes by the queue's length loses nothing for a
    well-behaved protocol and stops a misbehaving one.
    """
    passes = len(queue)
    while queue and passes > 0:
        passes -= 1
        progressed = False
        for message in queue.take_all():
            new_state, effects = receive(state, message)
            if changed(state, new_state):
                progressed = True
            state = new_state
            if effects:
                emit(effects)
        if not progressed:
            break
    return state
