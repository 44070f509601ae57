"""SessionStore on Redis: sessions under token-owned lease locks, in their shard's slot.

Every operation is one round trip: the scripts exist to keep it that way. Taking a lock with
its data and saving with the release are Lua functions (``SESSION_LUA``) that the inbound
queue's scripts call too, so a message's session is locked and loaded as it is taken, and
saved and unlocked as it is acknowledged (botkit/sessions/shards.py says why that works on a
Cluster).
"""

from __future__ import annotations

from typing import Any

from botkit.core import clock
from botkit.core.person import Found, Person
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import scan_keys
from botkit.core.units import milliseconds
from botkit.sessions.keys import belongs_to, shared_keys
from botkit.sessions.protocol import SessionLease, SessionSave, decode_session, encode_session
from botkit.sessions.shards import Shards

#: The session rules as Lua functions, for any script that locks or saves a session.
#: acquire(lock, data, expiry, token, lease ms) -> {1, data, expiry} or {0}.
#: save(lock, data, expiry, token, save flag, value, ttl ms, expiry at) -> 1 saved, 0 lock lost.
SESSION_LUA = """
local function botkit_session_acquire(lock, data, expiry, token, lease)
  if redis.call('SET', lock, token, 'NX', 'PX', lease) then
    return {1, redis.call('GET', data), redis.call('GET', expiry)}
  end
  return {0, false, false}
end
local function botkit_session_save(lock, data, expiry, token, save, value, ttl, expires)
  if redis.call('GET', lock) ~= token then return 0 end
  if save == '1' then
    redis.call('SET', data, value, 'PX', ttl)
    redis.call('SET', expiry, expires, 'PX', ttl)
  end
  redis.call('DEL', lock)
  return 1
end
"""

# KEYS: lock, data, expiry. ARGV: token, lease ms. Returns {acquired, data, expiry}.
_ACQUIRE = SESSION_LUA + """
return botkit_session_acquire(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2])
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
_COMMIT = SESSION_LUA + """
return botkit_session_save(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
"""


def save_args(save: SessionSave) -> list[str | int]:
    """The token, save flag, value, ttl and expiry ``botkit_session_save`` takes."""
    data = save.data
    value = "" if data is None else encode_session(data)
    expires = repr(clock.now() + save.ttl)
    return [save.lease.token, "0" if data is None else "1", value, milliseconds(save.ttl), expires]


def loaded(key: str, token: str, raw: Any, expires: Any) -> SessionLease:
    """The lease of a lock just taken, with the data it loaded (empty when past its expiry)."""
    return SessionLease(key=key, token=token, data={} if _past(expires) else decode_session(raw))


def _past(expires: bytes | str | None) -> bool:
    """Whether a session-expires value lies in the past on botkit.core.clock (absent: no)."""
    if expires is None:
        return False
    try:
        return float(expires) <= clock.now()
    except ValueError:
        return False


class RedisSessionStore:
    """SessionStore on Redis. Keys (botkit/sessions/shards.py): ``{T}:lock:<key>``,
    ``{T}:session:<key>`` and ``{T}:session-expires:<key>``, ``T`` the tag of the key's shard.

    Redis expires a session by its own clock (PX), which keeps memory bounded. The lifetime is also
    a rule read on botkit.core.clock, so a test can move time past it: the expiry key holds the
    botkit.core.clock moment the session ends, and a session past it loads as empty. (A session
    saved before that key existed has none and lives by its PX alone.)"""

    def __init__(self, redis: RedisClient, shards: Shards) -> None:
        self._redis = redis
        self.shards = shards
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._commit = redis.register_script(_COMMIT)

    async def try_acquire(self, key: str, token: str, lease: float) -> SessionLease | None:
        acquired, raw, expires = await self._acquire(
            keys=self.shards.session_keys(key), args=[token, milliseconds(lease)]
        )
        return loaded(key, token, raw, expires) if acquired else None

    async def renew(self, lease: SessionLease, seconds: float) -> bool:
        lock = self.shards.session_keys(lease.key)[0]
        return bool(await self._renew(keys=[lock], args=[lease.token, milliseconds(seconds)]))

    async def commit(self, lease: SessionLease, data: dict[str, Any] | None, ttl: float) -> bool:
        args = save_args(SessionSave(lease, data, ttl))
        return bool(await self._commit(keys=self.shards.session_keys(lease.key), args=args))

    async def get(self, key: str) -> dict[str, Any] | None:
        raw, expires = await self._redis.mget(self.shards.session_keys(key)[1:])
        return None if raw is None or _past(expires) else decode_session(raw)

    async def export_person(self, person: Person) -> Found:
        found = []
        for key in await self._keys_of(person):
            data = await self.get(key)
            if data is not None:
                found.append({"key": key, "session": data})
        return found

    async def erase_person(self, person: Person) -> int:
        erased = 0
        for key in await self._keys_of(person):
            # One session's keys share a slot: one DEL, also on a cluster.
            stored = self.shards.session_keys(key)
            erased += int(await self._redis.exists(stored[1]) > 0)
            await self._redis.delete(*stored)
        return erased

    async def _keys_of(self, person: Person) -> list[str]:
        """The session keys of ``person``: theirs by the pseudonym that ends them, in any
        shard, and the shared ones of their conversations."""
        stored = await scan_keys(self._redis, self.shards.person_pattern(person.digest))
        keys = {self.shards.session_key_of(s) for s in stored}
        keys.update(shared_keys(self.shards.namespace, person))
        return sorted(k for k in keys if k is not None and belongs_to(k, person))
