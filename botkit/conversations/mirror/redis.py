"""ParticipantMirror on Redis: every write is one Lua script, so a webhook and an API answer
racing across processes cannot interleave half-applied, and each costs one round trip.

Keys of one conversation share the hash tag ``{botkit:conv:<CH>}`` (``T``), so each script
touches one slot and works on Redis Cluster:

==========================  ======  ===========================================================
``{T}:participants``        hash    participant SID -> entry JSON {n: order, v: version,
                                    a: author, p: Participant} (mirror_entries.py)
``{T}:who``                 hash    the author's pseudonym (of a chat identity or a phone
                                    address) -> participant SID: the "who wrote" index. With
                                    two participants sharing an address (one phone, two proxy
                                    numbers) the first one added is indexed; the other takes
                                    over when it leaves.
``{T}:removed``             zset    tombstones: participant SID scored by expiry (Unix ms);
                                    expired ones are pruned by every write.
``{T}:meta``                hash    ``synced`` (1 once the mirror holds every participant),
                                    ``seq`` (the last order number handed out),
                                    ``gone_until`` (Unix ms; set by forget)
==========================  ======  ===========================================================

All four expire ``ttl`` after the conversation's last write. Tombstone times come from this
process's clock; processes' clocks need only agree to well within ``tombstone_ttl``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botkit.conversations.mirror.entries import (
    DEFAULT_MIRROR_TTL,
    DEFAULT_TOMBSTONE_TTL,
    author_key,
    decode_entry,
    entry_author,
    entry_body,
    in_order,
    seconds,
    version_of,
)
from botkit.conversations.mirror.protocol import erase_participations
from botkit.conversations.models import Participant
from botkit.core.person import Found, Person, Pseudonym
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys

# Shared prologue. KEYS: participants, who, removed, meta. ARGV[1]: now (ms).
# ``gone`` is true while the conversation is forgotten; expired tombstones are pruned.
_PROLOGUE = """
local now = tonumber(ARGV[1])
local gone = tonumber(redis.call('HGET', KEYS[4], 'gone_until') or '0') > now
if not gone then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
local function touch(ttl)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
"""

# ARGV: now, key ttl ms, sid, author, version, entry body (mirror_entries.entry_body).
# Returns 1 if stored. A new entry takes the next order number; an update keeps its own.
_ADD = (
    _PROLOGUE
    + """
if gone or redis.call('ZSCORE', KEYS[3], ARGV[3]) then return 0 end
local old = redis.call('HGET', KEYS[1], ARGV[3])
local n
if old then
  local entry = cjson.decode(old)
  if entry['v'] > tonumber(ARGV[5]) then return 0 end
  n = entry['n']
else
  n = redis.call('HINCRBY', KEYS[4], 'seq', 1)
end
redis.call('HSET', KEYS[1], ARGV[3], '{"n":' .. n .. ',' .. ARGV[6])
if ARGV[4] ~= '' then redis.call('HSETNX', KEYS[2], ARGV[4], ARGV[3]) end
touch(ARGV[2])
return 1
"""
)

# ARGV: now, key ttl ms, sid, tombstone expiry (ms). Returns 1 if the participant was present.
_REMOVE = (
    _PROLOGUE
    + """
if gone then return 0 end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3])
local old = redis.call('HGET', KEYS[1], ARGV[3])
if not old then
  touch(ARGV[2])
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[3])
local author = cjson.decode(old)['a']
if author ~= '' and redis.call('HGET', KEYS[2], author) == ARGV[3] then
  redis.call('HDEL', KEYS[2], author)
  local rest = redis.call('HGETALL', KEYS[1])
  for i = 1, #rest, 2 do
    if cjson.decode(rest[i + 1])['a'] == author then
      redis.call('HSET', KEYS[2], author, rest[i])
      break
    end
  end
end
touch(ARGV[2])
return 1
"""
)

# ARGV: now, key ttl ms, as_of (seconds, or '' for none), then sid, version, entry body per
# participant of the snapshot, in the API's order. Returns 1 unless the conversation is
# forgotten. Entries are renumbered: the snapshot's in its order, then the ones kept because
# they are newer than as_of, in their previous order; the author index is rebuilt in that order.
_REPLACE = (
    _PROLOGUE
    + """
if gone then return 0 end
local function reorder(raw, n)
  return (string.gsub(raw, '^{"n":%d+,', '{"n":' .. n .. ',', 1))
end
local listed = {}
for i = 4, #ARGV, 3 do listed[ARGV[i]] = true end
local as_of = tonumber(ARGV[3])
local extras = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if not listed[all[i]] then
    local entry = cjson.decode(all[i + 1])
    if as_of ~= nil and entry['v'] >= as_of then
      table.insert(extras, {entry['n'], all[i], all[i + 1]})
    end
  end
end
table.sort(extras, function(x, y) return x[1] < y[1] end)
local old = {}
for i = 1, #all, 2 do old[all[i]] = all[i + 1] end
redis.call('DEL', KEYS[1], KEYS[2])
local n = 0
local function put(sid, raw)
  redis.call('HSET', KEYS[1], sid, raw)
  local author = cjson.decode(raw)['a']
  if author ~= '' then redis.call('HSETNX', KEYS[2], author, sid) end
end
for i = 4, #ARGV, 3 do
  local sid = ARGV[i]
  if not redis.call('ZSCORE', KEYS[3], sid) then
    n = n + 1
    local previous = old[sid]
    if previous and cjson.decode(previous)['v'] > tonumber(ARGV[i + 1]) then
      put(sid, reorder(previous, n))
    else
      put(sid, '{"n":' .. n .. ',' .. ARGV[i + 2])
    end
  end
end
for _, extra in ipairs(extras) do
  n = n + 1
  put(extra[2], reorder(extra[3], n))
end
redis.call('HSET', KEYS[4], 'synced', '1', 'seq', n)
touch(ARGV[2])
return 1
"""
)

# KEYS: participants, who. ARGV: SID (or identity or address), the pseudonym of the identity or
# address. Returns the entry or nil.
_FIND = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then return raw end
local sid = redis.call('HGET', KEYS[2], ARGV[2])
if not sid then return false end
return redis.call('HGET', KEYS[1], sid)
"""


def _ms(value: float) -> int:
    return max(1, int(value * 1000))


class RedisParticipantMirror:
    def __init__(
        self,
        redis: RedisClient,
        *,
        pseudonym: Pseudonym,
        prefix: str = "botkit",
        tombstone_ttl: float = DEFAULT_TOMBSTONE_TTL,
        ttl: float = DEFAULT_MIRROR_TTL,
    ) -> None:
        self._redis = redis
        self._pseudonym = pseudonym
        self._prefix = prefix
        self._tombstone_ttl = tombstone_ttl
        self._key_ttl = _ms(max(ttl, tombstone_ttl))
        self._add = redis.register_script(_ADD)
        self._remove = redis.register_script(_REMOVE)
        self._replace = redis.register_script(_REPLACE)
        self._find = redis.register_script(_FIND)

    def keys(self, conversation_sid: str) -> list[str]:
        """participants, who, removed, meta (the scripts' KEYS order)."""
        tag = f"{{{self._prefix}:conv:{conversation_sid}}}"
        return [f"{tag}:participants", f"{tag}:who", f"{tag}:removed", f"{tag}:meta"]

    async def apply_added(self, participant: Participant) -> bool:
        args: list[str | int] = [
            _ms(time.time()),
            self._key_ttl,
            participant.sid,
            author_key(participant, self._pseudonym),
            version_of(participant),
            entry_body(participant, self._pseudonym),
        ]
        return bool(await self._add(keys=self.keys(participant.conversation_sid), args=args))

    async def apply_removed(self, conversation_sid: str, participant_sid: str) -> bool:
        now = time.time()
        args: list[str | int] = [
            _ms(now),
            self._key_ttl,
            participant_sid,
            _ms(now + self._tombstone_ttl),
        ]
        return bool(await self._remove(keys=self.keys(conversation_sid), args=args))

    async def replace_all(
        self,
        conversation_sid: str,
        participants: Iterable[Participant],
        *,
        as_of: datetime | None = None,
    ) -> None:
        cutoff = seconds(as_of)
        args: list[str | int] = [_ms(time.time()), self._key_ttl, "" if cutoff is None else cutoff]
        for participant in participants:
            args += [
                participant.sid, version_of(participant), entry_body(participant, self._pseudonym)
            ]
        await self._replace(keys=self.keys(conversation_sid), args=args)

    async def forget(self, conversation_sid: str) -> None:
        participants, who, removed, meta = self.keys(conversation_sid)
        until = _ms(time.time() + self._tombstone_ttl)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(participants, who, removed, meta)
            pipe.hset(meta, "gone_until", str(until))
            pipe.pexpire(meta, _ms(self._tombstone_ttl))
            await pipe.execute()

    async def participants(self, conversation_sid: str) -> list[Participant]:
        raw: list[Any] = await self._redis.hvals(self.keys(conversation_sid)[0])
        return in_order(raw)

    async def find(self, conversation_sid: str, key: str) -> Participant | None:
        args = [key, self._pseudonym(key)]
        raw = await self._find(keys=self.keys(conversation_sid)[:2], args=args)
        return decode_entry(raw) if raw else None

    async def export_person(self, person: Person) -> Found:
        found = []
        for conversation_sid in await self._conversations_of(person):
            entries: list[Any] = await self._redis.hvals(self.keys(conversation_sid)[0])
            found += [
                {
                    "conversation_sid": conversation_sid,
                    "participant": decode_entry(raw).model_dump(mode="json"),
                }
                for raw in entries
                if entry_author(raw) == person.digest
            ]
        return found

    async def erase_person(self, person: Person) -> int:
        return await erase_participations(self, person)

    async def _conversations_of(self, person: Person) -> list[str]:
        """The conversations whose author index names ``person`` (a walk of every mirror)."""
        pattern = "{" + glob_escape(f"{self._prefix}:conv:") + "*}:who"
        found = []
        for key in await scan_keys(self._redis, pattern):
            if await self._redis.hexists(key, person.digest):
                found.append(key.split(":conv:", 1)[1].partition("}")[0])
        return sorted(found)

    async def synced(self, conversation_sid: str) -> bool:
        flag = await self._redis.hget(self.keys(conversation_sid)[3], "synced")
        return flag is not None
