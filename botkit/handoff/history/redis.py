"""HistoryStore in Redis: one list of JSON entries and one counter per thread, under the
thread's own hash tag ``{<bot>:history:<thread>}`` (threads spread over a cluster's slots; each
append is one script on one slot)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botkit.core.person import Found, Person
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys
from botkit.handoff.history.protocol import (
    HISTORY_LIMIT,
    HISTORY_TTL,
    HistoryEntry,
    about,
    entry_row,
)

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

# KEYS: log, counter. ARGV: entries as stored. Removes each; the thread goes when it empties.
_REMOVE = """
local removed = 0
for i = 1, #ARGV do removed = removed + redis.call('LREM', KEYS[1], 0, ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
return removed
"""


def thread_keys(prefix: str, thread: str) -> tuple[str, str]:
    """The log and the counter of a bot's (``prefix``) thread, under the thread's own tag."""
    tag = f"{{{prefix}:history:{thread}}}"
    return f"{tag}:log", f"{tag}:seq"


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
        self._remove = redis.register_script(_REMOVE)

    def _keys(self, thread: str) -> tuple[str, str]:
        return thread_keys(self._prefix, thread)

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

    async def export_person(self, person: Person) -> Found:
        return [
            entry_row(thread, HistoryEntry.model_validate_json(raw))
            for thread, raws in await self._entries_about(person)
            for raw in raws
        ]

    async def erase_person(self, person: Person) -> int:
        erased = 0
        for thread, raws in await self._entries_about(person):
            erased += int(await self._remove(keys=list(self._keys(thread)), args=raws))
        return erased

    async def _entries_about(self, person: Person) -> list[tuple[str, list[str]]]:
        """Per thread, the stored entries about ``person`` (a walk of every thread)."""
        head = "{" + f"{self._prefix}:history:"
        found = []
        for key in sorted(await scan_keys(self._redis, glob_escape(head) + "*}:log")):
            thread = key.removeprefix(head).removesuffix("}:log")
            stored: list[Any] = await self._redis.lrange(key, 0, -1)
            raws = [_text(raw) for raw in stored if about(person, thread, _text(raw))]
            if raws:
                found.append((thread, raws))
        return found


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
