"""EffectStore in Redis: one string per result, ``<bot>:once:<key>``, expiring with its TTL
(``<key>`` begins with the pseudonym of the person whose event it was: effects/protocol.py)."""

from __future__ import annotations

import json
from typing import Any

from botkit.core.person import Found, Person
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys


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

    async def export_person(self, person: Person) -> Found:
        found = []
        for key in sorted(await self._keys_of(person)):
            raw: Any = await self._redis.get(key)
            if raw is not None:
                owned = key.removeprefix(self._prefix).partition(":")[2]
                found.append({"key": owned, "result": json.loads(_text(raw))})
        return found

    async def erase_person(self, person: Person) -> int:
        return sum([int(await self._redis.delete(key)) for key in await self._keys_of(person)])

    async def _keys_of(self, person: Person) -> list[str]:
        return await scan_keys(self._redis, f"{glob_escape(self._prefix)}{person.digest}:*")
