"""The WhatsApp window in Redis: one expiring key per (sender, user)."""

from __future__ import annotations

from botkit.compliance.windows.protocol import WINDOW_SECONDS
from botkit.core import clock
from botkit.core.person import Found, Person, Pseudonym
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys


class RedisWindowStore:
    """One key per (sender, user), ``botkit:wa-window:<sender>:<the user's pseudonym>``, holding
    the botkit.core.clock moment the user last wrote, that Redis expires when the window closes
    (by its own clock, to keep memory bounded)."""

    def __init__(
        self,
        redis: RedisClient,
        pseudonym: Pseudonym,
        window: float = WINDOW_SECONDS,
        prefix: str = "botkit",
    ) -> None:
        self._redis = redis
        self._pseudonym = pseudonym
        self._window = window
        self._ms = int(window * 1000)
        self._prefix = prefix

    def _key(self, sender: str, user: str) -> str:
        return f"{self._prefix}:wa-window:{sender}:{self._pseudonym(user)}"

    async def touch(self, sender: str, user: str) -> None:
        await self._redis.set(self._key(sender, user), repr(clock.now()), px=self._ms)

    async def is_open(self, sender: str, user: str) -> bool:
        last = await self._redis.get(self._key(sender, user))
        if last is None:
            return False
        try:
            return clock.now() - float(last) < self._window
        except ValueError:  # written before the key held a time ("1"): its PX decides
            return True

    async def export_person(self, person: Person) -> Found:
        found = []
        for key in sorted(await self._keys_of(person)):
            last = await self._redis.get(key)
            if last is not None:
                sender = key.removeprefix(f"{self._prefix}:wa-window:").rpartition(":")[0]
                found.append({"sender": sender, "last_message_at": float(last)})
        return found

    async def erase_person(self, person: Person) -> int:
        erased = 0
        for key in await self._keys_of(person):
            erased += int(await self._redis.delete(key))
        return erased

    async def _keys_of(self, person: Person) -> list[str]:
        pattern = f"{glob_escape(self._prefix)}:wa-window:*:{person.digest}"
        return await scan_keys(self._redis, pattern)
