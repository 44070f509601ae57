"""ConsentLedger on Redis. The key layout and the consent rule it shares with the outbound
queue's claim script are in keys.py; the copies of the states in the other shards' slots, and
why a change returns only once every copy has it, in keys.ConsentShards."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.keys import (
    CONSENT_LUA,
    ConsentShards,
    consent_changes_key,
    consent_check_keys,
    consent_key,
    copied_versions_key,
    copy_counts_key,
    copy_filled_key,
    hash_tag,
)
from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    Action,
    ConsentEvent,
    ConsentRecord,
    check_keyword,
    check_source,
    event_row,
    normalize_scope,
    record_row,
)
from botkit.core.redis_client import RedisClient

# KEYS: any consent_check_keys(). Returns 1 when blocked.
_CHECK = CONSENT_LUA + """
if botkit_consent_blocked(redis.call('MGET', unpack(KEYS))) then return 1 end
return 0
"""

# KEYS: state(H, scope), state(H, *), optouts, numbers, audit(H), seq, copy counts.
# ARGV: action, H, scope, keyword, source, masked. Returns {1 when the scope's verdict changed,
# the change's sequence number, both states after it ('' for none), then every shard count
# registered, whose copies the change must reach}.
_APPLY = CONSENT_LUA + """
local action, hash, scope, keyword, source, masked = unpack(ARGV)
local is_global = KEYS[1] == KEYS[2]
local function verdict()
  if is_global then return botkit_consent_blocked({redis.call('GET', KEYS[2])}) end
  return botkit_consent_blocked(redis.call('MGET', KEYS[2], KEYS[1]))
end
local before = verdict()
local seq = redis.call('INCR', KEYS[6])
local time = redis.call('TIME')
local at = time[1] .. '.' .. string.format('%06d', tonumber(time[2]))
local field = hash .. '|' .. scope
local was_out = botkit_consent_parse(redis.call('GET', KEYS[1])) == 'out'
if action == 'opt_out' then
  if is_global or not was_out then
    -- A repeated STOPALL refreshes the sequence, cancelling exemptions made since.
    redis.call('SET', KEYS[1], 'out:' .. seq)
  end
  if not was_out then
    redis.call('HSET', KEYS[3], field, cjson.encode(
      {masked = masked, keyword = keyword, source = source, at = at}))
  end
else
  redis.call('HDEL', KEYS[3], field)
  if not is_global and redis.call('EXISTS', KEYS[2]) == 1 then
    redis.call('SET', KEYS[1], 'in:' .. seq)
  else
    redis.call('DEL', KEYS[1])
  end
end
redis.call('HSET', KEYS[4], hash, masked)
redis.call('XADD', KEYS[5], '*', 'seq', seq, 'at', at, 'action', action, 'scope', scope,
  'keyword', keyword, 'source', source)
local states = redis.call('MGET', KEYS[1], KEYS[2])
return {before ~= verdict() and 1 or 0, seq, states[1] or '', states[2] or '',
  unpack(redis.call('SMEMBERS', KEYS[7]))}
"""

# In a copy's slot. KEYS: copied versions, copy counter, then state keys. ARGV: for each state
# key, the sequence number of the change it comes from and the state ('' for none). A change
# that arrives after a later one to the same key leaves the key alone.
_COPY = """
for i = 3, #KEYS do
  local seq, state = tonumber(ARGV[2 * i - 5]), ARGV[2 * i - 4]
  if seq > tonumber(redis.call('HGET', KEYS[1], KEYS[i]) or '0') then
    redis.call('HSET', KEYS[1], KEYS[i], seq)
    if state == '' then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], state)
    end
  end
end
return redis.call('INCR', KEYS[2])
"""

#: State keys filled into a new copy per script call.
_FILL_BATCH = 500


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(at: str) -> datetime:
    return datetime.fromtimestamp(float(at), UTC)


class RedisConsentLedger:
    """ConsentLedger on Redis: each operation is one script, one round trip, one slot."""

    def __init__(
        self, redis: RedisClient, hasher: NumberHasher, shards: ConsentShards | None = None
    ) -> None:
        """shards: the outbound queue's (BOTKIT_SHARDS); every process that writes the ledger
        must use the same, so that each change reaches every copy."""
        self.hasher = hasher
        self._redis = redis
        self._shards = shards or ConsentShards()
        self._tag = tag = self._shards.base
        self._copy_counts = copy_counts_key(tag)
        self._optouts = f"{hash_tag(tag)}:optouts"
        self._numbers = f"{hash_tag(tag)}:numbers"
        self._seq = consent_changes_key(tag)
        self._check = redis.register_script(_CHECK)
        self._apply_script = redis.register_script(_APPLY)
        self._copy_script = redis.register_script(_COPY)

    async def opt_out(self, number: str, scope: str, *, keyword: str | None, source: str) -> bool:
        return await self._apply("opt_out", number, scope, keyword, source)

    async def opt_in(self, number: str, scope: str, *, keyword: str | None, source: str) -> bool:
        return await self._apply("opt_in", number, scope, keyword, source)

    async def is_opted_out(self, number: str, scopes: Iterable[str]) -> bool:
        keys = consent_check_keys(self.hasher.digest(number), scopes, self._tag)
        return bool(await self._check(keys=keys))

    async def entries(self, scope: str | None = None) -> list[ConsentRecord]:
        wanted = None if scope is None else normalize_scope(scope)
        found: list[ConsentRecord] = []
        async for field, value in self._redis.hscan_iter(self._optouts, count=500):
            digest, _, record_scope = _text(field).partition("|")
            if wanted is not None and record_scope != wanted:
                continue
            data = json.loads(value)
            found.append(
                ConsentRecord(
                    number_hash=digest,
                    masked=data["masked"],
                    scope=record_scope,
                    keyword=data["keyword"] or None,
                    source=data["source"],
                    at=_time(data["at"]),
                )
            )
        return sorted(found, key=lambda r: (r.at, r.number_hash, r.scope))

    async def history(self, number: str) -> list[ConsentEvent]:
        digest = self.hasher.digest(number)
        masked = self.hasher.mask(number)
        entries: Any = await self._redis.xrange(self._audit(digest))
        return [self._event(digest, masked, fields) for _, fields in entries or []]

    async def export(
        self, scope: str | None = None, *, history: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        if not history:
            for record in await self.entries(scope):
                yield record_row(record)
            return
        wanted = None if scope is None else normalize_scope(scope)
        numbers = {
            _text(digest): _text(masked)
            async for digest, masked in self._redis.hscan_iter(self._numbers, count=500)
        }
        ordered = sorted(numbers)
        for start in range(0, len(ordered), 100):
            batch = ordered[start : start + 100]
            async with self._redis.pipeline(transaction=False) as pipe:
                for digest in batch:
                    pipe.xrange(self._audit(digest))
                trails = await pipe.execute()
            for digest, trail in zip(batch, trails, strict=True):
                for _, fields in trail:
                    event = self._event(digest, numbers[digest], fields)
                    if wanted is None or event.scope == wanted:
                        yield event_row(event)

    async def _apply(
        self, action: Action, number: str, raw_scope: str, keyword: str | None, source: str
    ) -> bool:
        scope = normalize_scope(raw_scope)
        source, keyword = check_source(source), check_keyword(keyword)
        digest = self.hasher.digest(number)
        keys = [
            consent_key(digest, scope, self._tag),
            consent_key(digest, GLOBAL_SCOPE, self._tag),
            self._optouts,
            self._numbers,
            self._audit(digest),
            self._seq,
            self._copy_counts,
        ]
        args = [action, digest, scope, keyword or "", source, self.hasher.mask(number)]
        changed, seq, state, global_state, *counts = await self._apply_script(keys=keys, args=args)
        copies = self._shards.copies_for({self._shards.count, *map(int, counts)})
        states = [state, global_state]
        await asyncio.gather(*(self._copy(tag, digest, scope, seq, states) for tag in copies))
        return bool(changed)

    async def _copy(self, tag: str, digest: str, scope: str, seq: int, states: list[Any]) -> None:
        keys = [
            copied_versions_key(tag),
            consent_changes_key(tag),
            consent_key(digest, scope, tag),
            consent_key(digest, GLOBAL_SCOPE, tag),
        ]
        await self._copy_script(keys=keys, args=[seq, states[0], seq, states[1]])

    async def prepare(self) -> None:
        """Register this process's shard count, and fill each of its copies from the ledger
        unless one was filled before (keys.ConsentShards says why). Registering comes first:
        a change made after it is copied by its writer, one made before it is in the ledger
        when the fill reads it, and the copy's version check lets both meet in any order."""
        if not self._shards.copies:
            return
        await self._redis.sadd(self._copy_counts, self._shards.count)
        for tag in self._shards.copies:
            if not await self._redis.exists(copy_filled_key(tag)):
                await self._fill(tag)
                await self._redis.set(copy_filled_key(tag), 1)

    async def _fill(self, tag: str) -> None:
        prefix = f"{hash_tag(self._tag)}:state:"
        batch: list[str] = []
        async for key in self._redis.scan_iter(match=prefix + "*", count=_FILL_BATCH):
            batch.append(_text(key))
            if len(batch) == _FILL_BATCH:
                await self._fill_batch(tag, prefix, batch)
                batch = []
        if batch:
            await self._fill_batch(tag, prefix, batch)

    async def _fill_batch(self, tag: str, prefix: str, keys: list[str]) -> None:
        copy_keys, args = [copied_versions_key(tag), consent_changes_key(tag)], list[str | int]()
        for key, value in zip(keys, await self._redis.mget(keys), strict=True):
            if value is None:
                continue  # gone since the scan: its writer copies the change itself
            state = _text(value)
            copy_keys.append(f"{hash_tag(tag)}:state:{key.removeprefix(prefix)}")
            args += [int(state.partition(":")[2]), state]
        if len(copy_keys) > 2:
            await self._copy_script(keys=copy_keys, args=args)

    def _audit(self, digest: str) -> str:
        return f"{hash_tag(self._tag)}:audit:{digest}"

    @staticmethod
    def _event(digest: str, masked: str, raw: dict[Any, Any]) -> ConsentEvent:
        fields = {_text(k): _text(v) for k, v in raw.items()}
        action: Action = "opt_out" if fields["action"] == "opt_out" else "opt_in"
        return ConsentEvent(
            number_hash=digest,
            masked=masked,
            seq=int(fields["seq"]),
            at=_time(fields["at"]),
            action=action,
            scope=fields["scope"],
            keyword=fields["keyword"] or None,
            source=fields["source"],
        )
