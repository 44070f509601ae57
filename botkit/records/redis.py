"""Records in Redis: one string per record under ``{namespace}:<key>``, and a counter
``{namespace}:#counter`` for numbers. A record put with a ttl also has
``{namespace}:#expires:<key>``, the botkit.core.clock moment it ends (both keys expire by
Redis' clock a little after it). A record put with an owner has its key in the set
``{namespace}:#owner:<pseudonym>``, which lives as long as the longest-lived record put in it.
The namespace is the hash tag, so a store's keys share a slot on Redis Cluster."""

from __future__ import annotations

from typing import Any

from botkit.core import clock
from botkit.core.redis_client import RedisClient

#: Redis drops an expired record this long after its rule lifetime (seconds), so a test clock
#: moved a little back never finds it gone early.
_SLACK = 60.0

# KEYS: value, expiry[, owner index]. ARGV: value, ttl ms ('' for none), expiry
# (botkit.core.clock seconds)[, key].
_PUT = """
if ARGV[2] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
end
if #KEYS == 3 then
  local existed = redis.call('EXISTS', KEYS[3])
  redis.call('SADD', KEYS[3], ARGV[4])
  if ARGV[2] == '' then
    redis.call('PERSIST', KEYS[3])
  else
    local left = redis.call('PTTL', KEYS[3])
    if existed == 0 or (left >= 0 and left < tonumber(ARGV[2])) then
      redis.call('PEXPIRE', KEYS[3], ARGV[2])
    end
  end
end
return 1
"""

# KEYS: value, expiry. Returns {value, expiry}, both removed.
_TAKE = """
local value = redis.call('GET', KEYS[1])
local expires = redis.call('GET', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2])
return {value, expires}
"""


class RedisRecordStore:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        self._redis = redis
        self._prefix = f"{{{namespace}}}:"
        self._put = redis.register_script(_PUT)
        self._take = redis.register_script(_TAKE)

    def _keys(self, key: str) -> list[str]:
        return [self._prefix + key, self._prefix + "#expires:" + key]

    async def next_number(self) -> int:
        return int(await self._redis.incr(self._prefix + "#counter"))

    async def put(
        self, key: str, value: str, ttl: float | None = None, owner: str | None = None
    ) -> None:
        if ttl is None:
            args = [value, "", ""]
        else:
            args = [value, str(int((ttl + _SLACK) * 1000)), repr(clock.now() + ttl)]
        keys = self._keys(key)
        if owner is not None:
            keys.append(self._index(owner))
            args.append(key)
        await self._put(keys=keys, args=args)

    async def get(self, key: str) -> str | None:
        value, expires = await self._redis.mget(self._keys(key))
        return _live(value, expires)

    async def take(self, key: str) -> str | None:
        value, expires = await self._take(keys=self._keys(key))
        return _live(value, expires)

    async def delete(self, key: str) -> bool:
        return bool(await self._redis.delete(*self._keys(key)))

    async def owned(self, owner: str) -> list[str]:
        index = self._index(owner)
        live = []
        for raw in await self._redis.smembers(index):
            key = _text(raw)
            if await self.get(key) is None:
                await self._redis.srem(index, key)  # expired or deleted since
            else:
                live.append(key)
        return sorted(live)

    async def forget_owner(self, owner: str) -> int:
        gone = sum([int(await self.delete(key)) for key in await self.owned(owner)])
        await self._redis.delete(self._index(owner))
        return gone

    def _index(self, owner: str) -> str:
        return self._prefix + "#owner:" + owner


class RedisRecordBackend:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    def store(self, namespace: str) -> RedisRecordStore:
        return RedisRecordStore(self._redis, namespace)


def _live(value: Any, expires: Any) -> str | None:
    """The value, unless absent or past its expiry on botkit.core.clock."""
    if value is None:
        return None
    if expires is not None and float(_text(expires)) <= clock.now():
        return None
    return _text(value)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw
