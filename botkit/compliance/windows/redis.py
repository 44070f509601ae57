"""The WhatsApp window in Redis: one expiring key per (sender, user)."""

from __future__ import annotations

from botkit.compliance.windows.protocol import WINDOW_SECONDS
from botkit.core import clock
from botkit.core.redis_client import RedisClient


class RedisWindowStore:
    """One key per (sender, user), holding the botkit.core.clock moment the user last wrote, that
    Redis expires when the window closes (by its own clock, to keep memory bounded)."""

    def __init__(
        self, redis: RedisClient, window: float = WINDOW_SECONDS, prefix: str = "botkit"
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


