"""A limit on requests in flight that lets the most urgent waiting send go next, not the first.

A worker allows ``concurrency`` requests to Twilio at once. When a stall (a busy loop, a slow
answer) fills every place, the sends that pile up are long codes, with a second to spare, and
WhatsApp senders, whose next send is due 12.5 ms later: first come, first served made the
WhatsApp sends wait behind the long codes (bench/dispatch.py, one worker: waiting for a place
was the largest cause of WhatsApp gaps over 5 ms, 1.2 s of their 7.8 s lost in all). So a
freed place passes straight to the waiter with the lowest key, the outbound worker's (interval,
slot): the fastest sender first, then the earliest slot.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

Key = tuple[float, int]


class PriorityGate:
    def __init__(self, places: int) -> None:
        self._free = places
        self._waiting: list[tuple[Key, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # equal keys: first come, first served

    @property
    def waiting(self) -> int:
        return sum(not future.done() for _, _, future in self._waiting)

    @asynccontextmanager
    async def place(self, key: Key) -> AsyncIterator[None]:
        """Hold one place for the block; when none is free, wait in ``key`` order."""
        await self._acquire(key)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, key: Key) -> None:
        if self._free > 0:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (key, next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # handed a place, then cancelled before taking it: pass it on
            raise

    def _release(self) -> None:
        # The place goes straight to the next waiter, so nobody arriving meanwhile takes it.
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():  # a cancelled waiter is skipped
                future.set_result(None)
                return
        self._free += 1
