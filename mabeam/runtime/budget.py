"""A shared byte budget: how many bytes of frames all connections together may be reading at once.

Each connection reserves a frame's announced length before reading its body
and releases it once the frame is decoded, so the total in memory stays under
the budget however many peers announce large frames at the same moment; a
connection that cannot get its share in time is closed by its read timeout.
"""

from __future__ import annotations

import asyncio


class ByteBudget:
    """``await reserve(n)`` ... ``release(n)``; waits (FIFO) while the budget is spent."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.peak = 0
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self.closed = False

    def close(self) -> None:
        """Nothing will be released any more (the node is closing): every waiter, now or later, gets
        :class:`ConnectionAbortedError`, which ends its connection like a hang-up."""
        self.closed = True
        waiters, self._waiters = self._waiters, []
        for _, waiter in waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionAbortedError("the node is closing"))

    async def reserve(self, amount: int) -> None:
        if self.closed:
            raise ConnectionAbortedError("the node is closing")
        if amount > self.total:
            raise ValueError(f"{amount} bytes exceed the whole budget of {self.total}")
        if not self._waiters and self.used + amount <= self.total:
            self._take(amount)
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (amount, waiter)
        self._waiters.append(entry)
        try:
            await waiter
        except BaseException:
            if entry in self._waiters:
                self._waiters.remove(entry)
            elif waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release(amount)  # granted just as we were cancelled: give it back
            raise

    def release(self, amount: int) -> None:
        self.used -= amount
        while self._waiters and self.used + self._waiters[0][0] <= self.total:
            amount_next, waiter = self._waiters.pop(0)
            if not waiter.done():
                self._take(amount_next)
                waiter.set_result(None)

    def _take(self, amount: int) -> None:
        self.used += amount
        self.peak = max(self.peak, self.used)
