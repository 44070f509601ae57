"""SessionStore on Redis: sessions under token-owned lease locks.

Each entity's keys share a ``{hash tag}`` so that the Lua scripts touch a single slot and work
on Redis Cluster. Every operation is one round trip: the scripts exist to keep it that way.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from botkit.core import clock
from botkit.core.units import milliseconds
from botkit.sessions.protocol import SessionLease, decode_session, encode_session

# KEYS: lock, data, expiry. ARGV: token, lease ms. Returns {acquired, data, expiry}.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3])}
end
return {0, false, false}
"""

# KEYS: lock. ARGV: token, lease ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lock, data, expiry. ARGV: token, save flag, data, ttl ms, expiry (botkit.core.clock
# seconds).
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[4])
end
redis.call('DEL', KEYS[1])
return 1
"""


def _past(expires: bytes | str | None) -> bool:
    """Whether a session-expires value lies in the past on botkit.core.clock (absent: no)."""
    if expires is None:
        return False
    try:
        return float(expires) <= clock.now()
    except ValueError:
        return False


class RedisSessionStore:
    """SessionStore on Redis. Keys: ``{prefix}:session:{<key>}``, ``...:lock:{<key>}`` and
    ``...:session-expires:{<key>}``.

    Redis expires a session by its own clock (PX), which keeps memory bounded. The lifetime is also
    a rule read on botkit.core.clock, so a test can move time past it: the expiry key holds the
    botkit.core.clock moment the session ends, and a session past it loads as empty. (A session
    saved before that key existed has none and lives by its PX alone.)"""

    def __init__(self, redis: Redis, prefix: str = "botkit") -> None:
        self._redis = redis
        self._prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._commit = redis.register_script(_COMMIT)

    def _keys(self, key: str) -> list[str]:
        return [
            f"{self._prefix}:lock:{{{key}}}",
            f"{self._prefix}:session:{{{key}}}",
            f"{self._prefix}:session-expires:{{{key}}}",
        ]

    async def try_acquire(self, key: str, token: str, lease: float) -> SessionLease | None:
        acquired, raw, expires = await self._acquire(
            keys=self._keys(key), args=[token, milliseconds(lease)]
        )
        if not acquired:
            return None
        data = {} if _past(expires) else decode_session(raw)
        return SessionLease(key=key, token=token, data=data)

    async def renew(self, lease: SessionLease, seconds: float) -> bool:
        lock = self._keys(lease.key)[0]
        return bool(await self._renew(keys=[lock], args=[lease.token, milliseconds(seconds)]))

    async def commit(self, lease: SessionLease, data: dict[str, Any] | None, ttl: float) -> bool:
        save = "0" if data is None else "1"
        args: list[str | int] = [lease.token, save, "", milliseconds(ttl), repr(clock.now() + ttl)]
        if data is not None:
            args[2] = encode_session(data)
        return bool(await self._commit(keys=self._keys(lease.key), args=args))

    async def get(self, key: str) -> dict[str, Any] | None:
        raw, expires = await self._redis.mget(self._keys(key)[1:])
        return None if raw is None or _past(expires) else decode_session(raw)
