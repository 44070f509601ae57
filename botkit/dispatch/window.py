"""The WhatsApp 24-hour customer service window: when each user last wrote to each sender.

Free-form WhatsApp messages are only allowed within 24 hours of the user's last message to that
sender; the inbound pipeline records every message, the dispatcher asks before sending.
"""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

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
        self._last[(sender, user)] = time.time()

    async def is_open(self, sender: str, user: str) -> bool:
        last = self._last.get((sender, user))
        return last is not None and time.time() - last < self.window


class RedisWindowStore:
    """One key per (sender, user) that expires when the window closes."""

    def __init__(
        self, redis: Redis, window: float = WINDOW_SECONDS, prefix: str = "botkit"
    ) -> None:
        self._redis = redis
        self._ms = int(window * 1000)
        self._prefix = prefix

    def _key(self, sender: str, user: str) -> str:
        return f"{self._prefix}:wa-window:{sender}:{user}"

    async def touch(self, sender: str, user: str) -> None:
        await self._redis.set(self._key(sender, user), "1", px=self._ms)

    async def is_open(self, sender: str, user: str) -> bool:
        return bool(await self._redis.exists(self._key(sender, user)))
