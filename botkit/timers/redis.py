"""TimerStore on Redis: one sorted set of ids by due time and one hash of timers, in one slot
per bot (``{<ns>:timers}``), driven by Lua so that taking, firing and cancelling are atomic.

A leased timer stays in the sorted set, scored at the end of its lease: if its taker dies, it is
simply due again. Timers are stored as JSON; the person's address is in it while the timer is
armed, and goes with it (cancelled, or fired for the last time).
"""

from __future__ import annotations

from typing import Any

from botkit.core.person import Found, Person
from botkit.core.redis_client import RedisClient
from botkit.timers.protocol import Timer, is_theirs, timer_rows

# KEYS: due zset, timers hash. ARGV: now, limit, lease.
_TAKE = """
local now, lease = tonumber(ARGV[1]), tonumber(ARGV[3])
local taken = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[2])) do
  local body = redis.call('HGET', KEYS[2], id)
  if body then
    redis.call('ZADD', KEYS[1], now + lease, id)
    taken[#taken + 1] = body
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return taken
"""

# KEYS: due zset, timers hash. ARGV: id, the timer as taken, the next one ('' for none), its due.
_DONE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
end
return 1
"""

# KEYS: due zset, timers hash. ARGV: id, timer, due.
_ADD = """
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
"""

# KEYS: due zset, timers hash. ARGV: id.
_CANCEL = """
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisTimerStore:
    def __init__(self, redis: RedisClient, prefix: str = "bot") -> None:
        tag = "{" + prefix + ":timers}"
        self._redis = redis
        self._keys = [f"{tag}:due", f"{tag}:t"]
        self._take = redis.register_script(_TAKE)
        self._done = redis.register_script(_DONE)
        self._add = redis.register_script(_ADD)
        self._cancel = redis.register_script(_CANCEL)

    async def add(self, timer: Timer) -> None:
        await self._add(keys=self._keys, args=[timer.id, timer.model_dump_json(), repr(timer.due)])

    async def cancel(self, timer_id: str) -> bool:
        return bool(await self._cancel(keys=self._keys, args=[timer_id]))

    async def get(self, timer_id: str) -> Timer | None:
        body = await self._redis.hget(self._keys[1], timer_id)
        return None if body is None else Timer.model_validate_json(_text(body))

    async def take_due(self, now: float, limit: int, lease: float) -> list[Timer]:
        taken: Any = await self._take(keys=self._keys, args=[repr(now), limit, repr(lease)])
        return [Timer.model_validate_json(_text(body)) for body in taken]

    async def done(self, timer: Timer, following: Timer | None) -> None:
        # The stored JSON is compared as text: the model dumps the same fields the same way.
        after = "" if following is None else following.model_dump_json()
        due = "" if following is None else repr(following.due)
        await self._done(keys=self._keys, args=[timer.id, timer.model_dump_json(), after, due])

    async def pending(self) -> int:
        return int(await self._redis.hlen(self._keys[1]))

    async def export_person(self, person: Person) -> Found:
        return timer_rows(await self._all(), person)

    async def erase_person(self, person: Person) -> int:
        theirs = [t.id for t in await self._all() if is_theirs(t, person)]
        return sum([int(await self.cancel(timer_id)) for timer_id in theirs])

    async def _all(self) -> list[Timer]:
        """Every armed timer (a walk of the hash, for an operator's export or erase)."""
        return [
            Timer.model_validate_json(_text(body))
            async for _, body in self._redis.hscan_iter(self._keys[1], count=500)
        ]
