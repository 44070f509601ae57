"""HandoffStore in Redis: records as JSON strings, agent load in a hash, the queue in a sorted
set scored by enqueue time. Every key of a bot shares the ``{<bot>:handoff}`` hash tag, so the
scripts touch one slot (Redis Cluster)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botkit.core.redis_client import RedisClient
from botkit.handoff.store.protocol import RECORD_TTL, HandoffRecord

# KEYS: load hash. ARGV: capacity, agents... Returns the agent taken, or false.
_ASSIGN = """
local best, best_load = false, nil
local capacity = tonumber(ARGV[1])
for i = 2, #ARGV do
  local load = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  if load < capacity and (best_load == nil or load < best_load) then
    best, best_load = ARGV[i], load
  end
end
if best then redis.call('HINCRBY', KEYS[1], best, 1) end
return best
"""

# KEYS: load hash. ARGV: agent.
_RELEASE = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') > 0 then
  return redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
end
return 0
"""

# KEYS: queue. ARGV: score (enqueue time), conversation sid. Returns the 1-based position.
_ENQUEUE = """
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
return redis.call('ZRANK', KEYS[1], ARGV[2]) + 1
"""

# KEYS: load hash, queue. ARGV: agent, capacity. Returns the conversation taken, or false.
_TAKE = """
if tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') >= tonumber(ARGV[2]) then
  return false
end
local oldest = redis.call('ZRANGE', KEYS[2], 0, 0)
if #oldest == 0 then return false end
redis.call('ZREM', KEYS[2], oldest[1])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return oldest[1]
"""


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else value


class RedisHandoffStore:
    def __init__(self, redis: RedisClient, *, prefix: str = "bot") -> None:
        self._redis = redis
        tag = f"{{{prefix}:handoff}}"
        self._record_prefix = f"{tag}:conversation:"
        self._load_key = f"{tag}:load"
        self._queue_key = f"{tag}:queue"
        self._assign = redis.register_script(_ASSIGN)
        self._release = redis.register_script(_RELEASE)
        self._enqueue = redis.register_script(_ENQUEUE)
        self._take = redis.register_script(_TAKE)

    async def get(self, conversation_sid: str) -> HandoffRecord | None:
        raw = await self._redis.get(self._record_prefix + conversation_sid)
        return None if raw is None else HandoffRecord.model_validate_json(raw)

    async def put(self, record: HandoffRecord) -> None:
        await self._redis.set(
            self._record_prefix + record.conversation_sid,
            record.model_dump_json(),
            px=int(RECORD_TTL * 1000),
        )

    async def delete(self, conversation_sid: str) -> None:
        await self._redis.delete(self._record_prefix + conversation_sid)

    async def assign(self, agents: Sequence[str], capacity: int) -> str | None:
        taken = await self._assign(keys=[self._load_key], args=[capacity, *agents])
        return _text(taken) if taken else None

    async def acquire(self, agent: str) -> None:
        await self._redis.hincrby(self._load_key, agent, 1)

    async def release(self, agent: str) -> None:
        await self._release(keys=[self._load_key], args=[agent])

    async def load(self, agent: str) -> int:
        return int(await self._redis.hget(self._load_key, agent) or 0)

    async def enqueue(self, conversation_sid: str, at: float) -> int:
        return int(await self._enqueue(keys=[self._queue_key], args=[at, conversation_sid]))

    async def position(self, conversation_sid: str) -> int | None:
        rank: Any = await self._redis.zrank(self._queue_key, conversation_sid)
        return None if rank is None else int(rank) + 1

    async def take(self, agent: str, capacity: int) -> str | None:
        taken = await self._take(keys=[self._load_key, self._queue_key], args=[agent, capacity])
        return _text(taken) if taken else None

    async def dequeue(self, conversation_sid: str) -> bool:
        return bool(await self._redis.zrem(self._queue_key, conversation_sid))

    async def waiting(self) -> list[str]:
        members: list[Any] = await self._redis.zrange(self._queue_key, 0, -1)
        return [str(_text(member)) for member in members]
