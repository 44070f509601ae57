"""HistoryStore in Redis: one list of JSON entries and one counter per thread, under the
thread's own hash tag ``{<bot>:history:<thread>}`` (threads spread over a cluster's slots; each
append is one script on one slot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botkit.core.redis_client import RedisClient
from botkit.handoff.history.protocol import HISTORY_LIMIT, HISTORY_TTL, HistoryEntry

# KEYS: log, counter. ARGV: limit, ttl ms, entries (JSON)... Returns the last number given.
_APPEND = """
local last = 0
for i = 3, #ARGV do
  last = redis.call('INCR', KEYS[2])
  local entry = cjson.decode(ARGV[i])
  entry.index = last
  redis.call('RPUSH', KEYS[1], cjson.encode(entry))
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return last
"""


class RedisHistoryStore:
    def __init__(
        self,
        redis: RedisClient,
        *,
        prefix: str = "bot",
        limit: int = HISTORY_LIMIT,
        ttl: float = HISTORY_TTL,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._limit = limit
        self._ttl_ms = int(ttl * 1000)
        self._append = redis.register_script(_APPEND)

    def _keys(self, thread: str) -> tuple[str, str]:
        tag = f"{{{self._prefix}:history:{thread}}}"
        return f"{tag}:log", f"{tag}:seq"

    async def append(
        self,
        thread: str,
        entries: Sequence[HistoryEntry],
        *,
        limit: int | None = None,
        ttl: float | None = None,
    ) -> int:
        if not entries:
            return 0
        args: list[Any] = [limit or self._limit, int(ttl * 1000) if ttl else self._ttl_ms]
        args.extend(entry.model_dump_json() for entry in entries)
        return int(await self._append(keys=list(self._keys(thread)), args=args))

    async def read(self, thread: str, after: int = 0) -> list[HistoryEntry]:
        raw: list[Any] = await self._redis.lrange(self._keys(thread)[0], 0, -1)
        entries = [HistoryEntry.model_validate_json(item) for item in raw]
        return [entry for entry in entries if entry.index > after]

    async def erase(self, thread: str) -> bool:
        return bool(await self._redis.delete(*self._keys(thread)))
