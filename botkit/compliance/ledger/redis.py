"""ConsentLedger on Redis, and the key layout the dispatcher reads at send time.

Key layout (``T`` is the hash tag, ``botkit:consent`` by default; ``H`` is the number's HMAC):

==============================  =======  =====================================================
``{T}:state:H:<scope>``         string   ``out:<seq>`` (opted out) or ``in:<seq>`` (exempt from
                                         an earlier global opt-out); absent: no opinion. The
                                         only keys a send-time check reads.
``{T}:optouts``                 hash     ``H|<scope>`` -> JSON {masked, keyword, source, at}:
                                         the standing opt-outs, for operators.
``{T}:numbers``                 hash     ``H`` -> masked number, for every number with a trail.
``{T}:audit:H``                 stream   the audit trail: seq, at, action, scope, keyword,
                                         source. Append-only, never trimmed.
``{T}:seq``                     string   the counter that orders every change.
==============================  =======  =====================================================

No key or value holds a recipient's number: only H and the masked form (``+1555***0123``).
Scopes are our own senders (numbers, ``whatsapp:`` addresses, MG SIDs) and ``*`` for global.

Why every key shares one hash tag. Promise 4 says a message queued before a STOP is never sent.
That holds only if the dispatcher's claim of a message and the check of its recipient's consent
happen in one Lua script, so that Redis orders each claim strictly before or after the STOP's
write. On Redis Cluster a script may only touch keys of one slot, and a claim script picks up
messages to arbitrary recipients, so consent cannot be spread by number (each recipient would
live elsewhere) or by sender (the global scope would live elsewhere). It has to sit in the slot
of the dispatcher's queue keys. Hence one tag, which the dispatcher either adopts for its own
keys or hands to ``RedisConsentLedger(tag=...)``. The price is that consent and the queues share
one shard; a check is one MGET of at most three short strings, and a shard serves around
100,000 of those per second, two orders above the benchmark's 1,000 messages per second.

How the dispatcher checks consent in its claim script::

    keys = consent_check_keys(ledger.hasher.digest(to), [sender, service_sid], tag=...)
    # pass keys in KEYS (cluster routing needs them declared), then in the script:
    #   <CONSENT_LUA>
    #   if botkit_consent_blocked(redis.call('MGET', unpack(KEYS, i, j))) then ... end

``CONSENT_LUA`` is the rule ``ledger.is_blocked`` implements, and it is the code this module's own
``is_opted_out`` runs, so the dispatcher cannot drift from what the tests check.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    Action,
    ConsentEvent,
    ConsentRecord,
    check_keyword,
    check_scopes,
    check_source,
    event_row,
    normalize_scope,
    record_row,
)

DEFAULT_TAG = "botkit:consent"

#: Lua helpers for any script that needs the consent rule. ``values``: MGET of
#: consent_check_keys(), i.e. the global state first and then one state per scope.
CONSENT_LUA = """
local function botkit_consent_parse(value)
  if not value then return nil, 0 end
  local kind, seq = string.match(value, '^(%a+):(%d+)$')
  return kind, tonumber(seq)
end
local function botkit_consent_blocked(values)
  local gkind, gseq = botkit_consent_parse(values[1])
  local exempt = false
  for i = 2, #values do
    local kind, seq = botkit_consent_parse(values[i])
    if kind == 'out' then return true end
    if kind == 'in' and gkind == 'out' and seq > gseq then exempt = true end
  end
  return gkind == 'out' and not exempt
end
"""

# KEYS: any consent_check_keys(). Returns 1 when blocked.
_CHECK = CONSENT_LUA + """
if botkit_consent_blocked(redis.call('MGET', unpack(KEYS))) then return 1 end
return 0
"""

# KEYS: state(H, scope), state(H, *), optouts, numbers, audit(H), seq.
# ARGV: action, H, scope, keyword, source, masked. Returns 1 when the scope's verdict changed.
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
if before ~= verdict() then return 1 end
return 0
"""


def _tag(tag: str) -> str:
    return "{" + tag + "}"


def consent_key(number_hash: str, scope: str, tag: str = DEFAULT_TAG) -> str:
    """The state key of (number hash, scope); scope must already be normalised."""
    return f"{_tag(tag)}:state:{number_hash}:{scope}"


def consent_changes_key(tag: str = DEFAULT_TAG) -> str:
    """The counter every opt-out and opt-in increments (``{T}:seq``)."""
    return f"{_tag(tag)}:seq"


def consent_check_keys(
    number_hash: str, scopes: Iterable[str], tag: str = DEFAULT_TAG
) -> list[str]:
    """The keys a send-time check reads, in the order CONSENT_LUA expects: global first."""
    return [consent_key(number_hash, s, tag) for s in [GLOBAL_SCOPE, *check_scopes(scopes)]]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _time(at: str) -> datetime:
    return datetime.fromtimestamp(float(at), UTC)


class RedisConsentLedger:
    """ConsentLedger on Redis: each operation is one script, one round trip, one slot."""

    def __init__(self, redis: Redis, hasher: NumberHasher, tag: str = DEFAULT_TAG) -> None:
        self.hasher = hasher
        self._redis = redis
        self._tag = tag
        self._optouts = f"{_tag(tag)}:optouts"
        self._numbers = f"{_tag(tag)}:numbers"
        self._seq = consent_changes_key(tag)
        self._check = redis.register_script(_CHECK)
        self._apply_script = redis.register_script(_APPLY)

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
        ]
        args = [action, digest, scope, keyword or "", source, self.hasher.mask(number)]
        return bool(await self._apply_script(keys=keys, args=args))

    def _audit(self, digest: str) -> str:
        return f"{_tag(self._tag)}:audit:{digest}"

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
