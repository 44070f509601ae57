"""In-process stores for development and tests; they mirror the Redis semantics exactly.

State lives in this process only, so these are for one process: a restart forgets sessions
and queued events. Values are stored as JSON strings, as in Redis, so a handler that stores
something unserialisable fails here too and not first in production.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import OrderedDict, deque
from typing import Any

from botkit import clock
from botkit.storage.inbound import Delivery
from botkit.storage.sessions import SessionLease, decode_session, encode_session
from botkit.storage.status import STATUS_TTL, StatusChange, StatusRecord
from botkit.twilio.status import MessageStatus, is_forward


def _now() -> float:
    return time.monotonic()


class MemorySessionStore:
    """SessionStore in a dict, with the same token-owned lease locks as Redis.

    A session's lifetime is a rule (BOTKIT_SESSION_TTL), so it is measured on botkit.clock,
    which tests can move; lock leases are not rules and keep the monotonic clock.
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, tuple[str, float]] = {}

    async def try_acquire(self, key: str, token: str, lease: float) -> SessionLease | None:
        held = self._locks.get(key)
        now = _now()
        if held is not None and held[1] > now:
            return None
        self._locks[key] = (token, now + lease)
        return SessionLease(key=key, token=token, data=self._load(key))

    async def renew(self, lease: SessionLease, seconds: float) -> bool:
        if not self._owns(lease):
            return False
        self._locks[lease.key] = (lease.token, _now() + seconds)
        return True

    async def commit(self, lease: SessionLease, data: dict[str, Any] | None, ttl: float) -> bool:
        if not self._owns(lease):
            return False
        if data is not None:
            self._data[lease.key] = (encode_session(data), clock.now() + ttl)
        del self._locks[lease.key]
        return True

    async def get(self, key: str) -> dict[str, Any] | None:
        stored = self._data.get(key)
        if stored is None or stored[1] <= clock.now():
            return None
        return decode_session(stored[0])

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _owns(self, lease: SessionLease) -> bool:
        held = self._locks.get(lease.key)
        return held is not None and held[0] == lease.token and held[1] > _now()

    def _load(self, key: str) -> dict[str, Any]:
        stored = self._data.get(key)
        if stored is None:
            return {}
        if stored[1] <= clock.now():
            del self._data[key]
            return {}
        return decode_session(stored[0])


class MemoryInboundQueue:
    """InboundQueue in a deque, with leases and reclaim like a Redis consumer group."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._queue: deque[Delivery] = deque()
        self._in_flight: dict[str, tuple[Delivery, str, float]] = {}
        self._ids = itertools.count(1)
        self._arrived = asyncio.Event()

    async def accept(self, dedup_id: str, payload: str, dedup_ttl: float) -> bool:
        now = _now()
        self._expire_seen(now)
        if dedup_id in self._seen:
            return False
        self._seen[dedup_id] = now + dedup_ttl
        self._queue.append(Delivery(id=str(next(self._ids)), payload=payload))
        self._arrived.set()
        return True

    async def take(self, consumer: str, count: int, wait: float) -> list[Delivery]:
        if not self._queue:
            self._arrived.clear()
            try:
                async with asyncio.timeout(wait):
                    await self._arrived.wait()
            except TimeoutError:
                return []
        taken: list[Delivery] = []
        while self._queue and len(taken) < count:
            delivery = self._queue.popleft()
            self._in_flight[delivery.id] = (delivery, consumer, _now())
            taken.append(delivery)
        return taken

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        now = _now()
        stale = [d for d, _, at in self._in_flight.values() if now - at >= idle][:count]
        for delivery in stale:
            self._in_flight[delivery.id] = (delivery, consumer, now)
        return stale

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        if delivery.id in self._in_flight:
            self._in_flight[delivery.id] = (delivery, consumer, _now())

    async def finish(self, delivery: Delivery) -> None:
        self._in_flight.pop(delivery.id, None)

    async def backlog(self) -> int:
        return len(self._queue) + len(self._in_flight)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _expire_seen(self, now: float) -> None:
        # Entries share one TTL, so insertion order is expiry order.
        while self._seen:
            sid, expires = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[sid]


class MemoryStatusStore:
    """StatusStore in an ordered dict; records expire like the Redis hashes (TTL renewed by
    each move), so a long-running development bot does not keep every status forever."""

    def __init__(self, ttl: float = STATUS_TTL) -> None:
        self._ttl = ttl
        self._records: OrderedDict[str, tuple[StatusRecord, float]] = OrderedDict()

    async def advance(
        self, sid: str, status: MessageStatus, error_code: int | None, at: float
    ) -> StatusChange | None:
        now = _now()
        self._expire(now)
        held = self._records.get(sid)
        current = held[0] if held is not None else None
        if current is not None and current.status == status and current.at == at:
            return StatusChange(sid, current.previous, status, current.error_code, at)
        old = current.status if current is not None else None
        if not is_forward(old, status):
            return None
        self._records[sid] = (StatusRecord(sid, status, old, error_code, at), now + self._ttl)
        self._records.move_to_end(sid)
        return StatusChange(sid, old, status, error_code, at)

    async def get(self, sid: str) -> StatusRecord | None:
        self._expire(_now())
        held = self._records.get(sid)
        return held[0] if held is not None else None

    def _expire(self, now: float) -> None:
        # Each move re-inserts its record at the end with one TTL: the front expires first.
        while self._records:
            sid, (_, expires) = next(iter(self._records.items()))
            if expires > now:
                break
            del self._records[sid]
