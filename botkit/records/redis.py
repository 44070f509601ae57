"""Records in Redis: one string per record under ``{namespace}:<key>``, and a counter
``{namespace}:#counter`` for numbers. The namespace is the hash tag, so a store's keys share a
slot on Redis Cluster."""

from __future__ import annotations

from botkit.core.redis_client import RedisClient


class RedisRecordStore:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{{{namespace}}}:"

    async def next_number(self) -> int:
        return int(await self._redis.incr(self._prefix + "#counter"))

    async def put(self, key: str, value: str) -> None:
        await self._redis.set(self._prefix + key, value)

    async def get(self, key: str) -> str | None:
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else _text(raw)

    async def take(self, key: str) -> str | None:
        raw = await self._redis.getdel(self._prefix + key)
        return None if raw is None else _text(raw)

    async def delete(self, key: str) -> bool:
        return bool(await self._redis.delete(self._prefix + key))


class RedisRecordBackend:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    def store(self, namespace: str) -> RedisRecordStore:
        return RedisRecordStore(self._redis, namespace)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
