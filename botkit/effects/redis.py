"""EffectStore in Redis: one string per result, ``<bot>:once:<key>``, expiring with its TTL."""

from __future__ import annotations

from typing import Any

from botkit.core.redis_client import RedisClient


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


class RedisEffectStore:
    def __init__(self, redis: RedisClient, *, prefix: str = "bot") -> None:
        self._redis = redis
        self._prefix = f"{prefix}:once:"

    async def get(self, key: str) -> str | None:
        raw: Any = await self._redis.get(self._prefix + key)
        return None if raw is None else _text(raw)

    async def put_first(self, key: str, result: str, ttl: float) -> str:
        # SET NX GET: the earlier result if there was one, else None (and ours is stored).
        earlier: Any = await self._redis.set(
            self._prefix + key, result, px=int(ttl * 1000), nx=True, get=True
        )
        return result if earlier is None else _text(earlier)
