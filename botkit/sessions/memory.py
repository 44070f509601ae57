"""SessionStore in process memory, for development and tests; it mirrors the Redis semantics.

State lives in this process only: a restart forgets the sessions. Values are stored as JSON strings,
as in Redis, so a handler that stores something unserialisable fails here too and not first in
production."""

from __future__ import annotations

import time
from typing import Any

from botkit.core import clock
from botkit.core.person import Found, Person
from botkit.sessions.keys import belongs_to
from botkit.sessions.protocol import SessionLease, decode_session, encode_session


class MemorySessionStore:
    """SessionStore in a dict, with the same token-owned lease locks as Redis.

    A session's lifetime is a rule (BOTKIT_SESSION_TTL), so it is measured on botkit.core.clock,
    which tests can move; lock leases are not rules and keep the monotonic clock.
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, tuple[str, float]] = {}

    async def try_acquire(self, key: str, token: str, lease: float) -> SessionLease | None:
        held = self._locks.get(key)
        now = time.monotonic()
        if held is not None and held[1] > now:
            return None
        self._locks[key] = (token, now + lease)
        return SessionLease(key=key, token=token, data=self._load(key))

    async def renew(self, lease: SessionLease, seconds: float) -> bool:
        if not self._owns(lease):
            return False
        self._locks[lease.key] = (lease.token, time.monotonic() + seconds)
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

    async def export_person(self, person: Person) -> Found:
        found = []
        for key in [k for k in self._data if belongs_to(k, person)]:
            data = await self.get(key)
            if data is not None:
                found.append({"key": key, "session": data})
        return found

    async def erase_person(self, person: Person) -> int:
        erased = len(await self.export_person(person))
        for held in (self._data, self._locks):
            for key in [k for k in held if belongs_to(k, person)]:
                del held[key]
        return erased

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def _owns(self, lease: SessionLease) -> bool:
        held = self._locks.get(lease.key)
        return held is not None and held[0] == lease.token and held[1] > time.monotonic()

    def _load(self, key: str) -> dict[str, Any]:
        stored = self._data.get(key)
        if stored is None:
            return {}
        if stored[1] <= clock.now():
            del self._data[key]
            return {}
        return decode_session(stored[0])
