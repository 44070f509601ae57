"""InboundQueue in process memory, for development and tests: the same dedup, delivery,
session and reclaim semantics as the Redis streams, and the same contract tests."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque

from botkit.inbound.queue.protocol import NONE, Delivery, release_unsaved
from botkit.outbound.held_outbox import HeldReplies
from botkit.sessions.memory import MemorySessionStore
from botkit.sessions.protocol import SessionSave


class MemoryInboundQueue:
    """InboundQueue in a deque, with leases and reclaim like a Redis consumer group, locking
    sessions in the memory session store it shares a process with."""

    def __init__(self, sessions: MemorySessionStore) -> None:
        self._sessions = sessions
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._queue: deque[tuple[Delivery, str | None]] = deque()
        self._in_flight: dict[str, tuple[Delivery, str, float]] = {}
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()

    async def prepare(self) -> None:
        return None

    async def accept(
        self, dedup_id: str, payload: str, dedup_ttl: float, session_key: str | None = None
    ) -> bool:
        now = time.monotonic()
        self._expire_seen(now)
        if dedup_id in self._seen:
            return False
        self._seen[dedup_id] = now + dedup_ttl
        self._queue.append((Delivery(id=str(next(self._ids)), payload=payload), session_key))
        self._arrived.set()
        return True

    async def take(
        self, consumer: str, count: int, wait: float, session_lease: float
    ) -> list[Delivery]:
        if not self._queue:
            self._arrived.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
            except TimeoutError:
                return []
        taken: list[Delivery] = []
        while self._queue and len(taken) < count:
            delivery, key = self._queue.popleft()
            if key is not None:
                token = f"{consumer}:{delivery.id}"
                lease = await self._sessions.try_acquire(key, token, session_lease)
                delivery = Delivery(id=delivery.id, payload=delivery.payload, session=lease)
            self._in_flight[delivery.id] = (delivery, consumer, time.monotonic())
            taken.append(delivery)
        return taken

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        now = time.monotonic()
        stale = [d for d, _, at in self._in_flight.values() if now - at >= idle][:count]
        reclaimed = [Delivery(id=d.id, payload=d.payload) for d in stale]
        for delivery in reclaimed:
            self._in_flight[delivery.id] = (delivery, consumer, now)
        return reclaimed

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        if delivery.id in self._in_flight:
            self._in_flight[delivery.id] = (delivery, consumer, time.monotonic())

    async def finish(
        self, delivery: Delivery, save: SessionSave | None = None, replies: HeldReplies = NONE
    ) -> bool:
        try:
            await replies.enqueue()
        except Exception:
            await release_unsaved(self._sessions, save)
            raise
        saved = True
        if save is not None:
            saved = await self._sessions.commit(save.lease, save.data, save.ttl)
        self._in_flight.pop(delivery.id, None)
        replies.written()
        return saved

    async def backlog(self) -> int:
        return len(self._queue) + len(self._in_flight)

    async def close(self) -> None:
        return None

    def _expire_seen(self, now: float) -> None:
        # Entries share one TTL, so insertion order is expiry order.
        while self._seen:
            sid, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[sid]
