"""The WhatsApp 24-hour customer service window: when each user last wrote to each sender.

Free-form WhatsApp messages are only allowed within 24 hours of the user's last message to that
sender; the inbound pipeline records every message, the dispatcher asks before sending. The
window is a rule, so it is measured on botkit.clock (tests move it a day ahead).
"""

from __future__ import annotations

from typing import Protocol

from redis.asyncio import Redis

from botkit import clock

WINDOW_SECONDS = 24 * 3600


class WindowStore(Protocol):
    async def touch(self, sender: str, user: str) -> None:
        """user just wrote to sender (a whatsapp: address or a Messaging Service SID)."""

    async def is_open(self, sender: str, user: str) -> bool:
        """May sender send user a free-form message now?"""


class MemoryWindowStore:
    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._last: dict[tuple[str, str], float] = {}

    async def touch(self, sender: str, user: str) -> None:
        self._last[(sender, user)] = clock.now()

    async def is_open(self, sender: str, user: str) -> bool:
        last = self._last.get((sender, user))
        return last is not None and clock.now() - last < self.window


class RedisWindowStore:
    """One key per (sender, user), holding the botkit.clock moment the user last wrote, that
    Redis expires when the window closes (by its own clock, to keep memory bounded)."""

    def __init__(
        self, redis: Redis, window: float = WINDOW_SECONDS, prefix: str = "botkit"
    ) -> None:
        self._redis = redis
        self._window = window
        self._ms = int(window * 1000)
        self._prefix = prefix

    def _key(self, sender: str, user: str) -> str:
        return f"{self._prefix}:wa-window:{sender}:{user}"

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
