"""OutboundQueue on Redis: sorted sets and hashes driven by Lua, one round trip per operation.

The queue is split into shards (BOTKIT_SHARDS, ConsentShards): a sender's jobs and its rate
state live in its shard, all under the shard's hash tag ``T``, beside the copy of the consent
states its claims check (botkit/compliance/ledger/keys.py says why consent must live in the
queue's slot). Each shard's key layout:

=========================  ======  ========================================================
``{T}:out:job:<id>``       hash    d (job JSON), s (sender), l (lane r/b), to (the
                                   recipient's pseudonym), c (cost), ck (consent keys), st
                                   (state), a (attempts), w (lease token), ra (ready at, µs),
                                   rc (reclaimed), sid, reason, err
``{T}:out:idem:<key>``     string  the job id that owns an idempotency key
``{T}:out:q:<sender>:<l>`` zset    a sender's jobs in lane l, by fair virtual time
``{T}:out:vt:<sender>``    hash    per-recipient (pseudonym) virtual time, only while the
                                   recipient has a later job in line; '' = the sender's current
                                   one. Gone when the sender's line empties.
``{T}:out:senders``        zset    senders with queued jobs, by when their limit frees (µs)
``{T}:out:tat``            hash    sender -> GCRA theoretical arrival time (µs)
``{T}:out:rate``           hash    sender -> units per second
``{T}:out:delayed``        zset    job ids by due time (µs): backoff, quiet hours
``{T}:out:inflight``       zset    job ids by lease expiry (µs)
``{T}:out:dead``           zset    dead-lettered job ids by time (µs)
``{T}:out:pending``        string  jobs queued, delayed or in flight
``{T}:out:own``            hash    sender -> the worker it stays with, and until when (µs)
``{T}:out:sid:<sid>``      string  the job Twilio knows as sid, for a day
=========================  ======  ========================================================

Jobs put in line outside a claim (enqueue, promote, replay) PUBLISH on the channel
``{T}:out:wake``, which idle workers listen on. A claim also reads the consent change counter
``{T}:seq`` of its slot and hands it to the worker with the claims, so that a worker can tell
later, without asking the ledger, that no opt-out happened since. An idempotency key is one per
shard: the replies of a re-run handler come from the same senders, so they land in the same one.

Times are whole microseconds, read from Redis' own clock (TIME) unless a test passes one, so
every process on every machine schedules against the same clock.

What a job holds about its recipient (their number and the text, in ``d``) lives as long as the
job: until it is sent and then ``finished_ttl`` (for status callbacks and the WhatsApp template
fallback), or, dead-lettered, until ``redact_dead_letters`` replaces it with a redacted copy.
Per-recipient state (``vt``) lives only while the recipient has something in line, so a sender
that reaches a million people keeps no trace of each once its line is empty.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster

from botkit.compliance.ledger.keys import CONSENT_LUA, ConsentShards, consent_changes_key
from botkit.core.person import Found, Person
from botkit.core.redis_client import Durability, RedisClient, run_durably
from botkit.core.redis_scan import glob_escape, scan_keys
from botkit.core.script_call import ScriptCall
from botkit.core.wake import ShardWakes
from botkit.outbound.job import Job
from botkit.outbound.queue.privacy import addressed_to, job_row, redacted
from botkit.outbound.queue.protocol import (
    FINISHED_TTL,
    IDEMPOTENCY_TTL,
    Batch,
    Claim,
    DeadLetter,
    Idle,
)

_LANES = {"reply": "r", "bulk": "b"}
_FIELDS = 6  # per claim in the claim script's reply

_PRELUDE = CONSENT_LUA + """
local P = ARGV[1]
local function fmt(x) return string.format('%.0f', x) end
local function clock(given)
  if given >= 0 then return given end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function push_ready(id, now)
  local j = P .. 'job:' .. id
  local f = redis.call('HMGET', j, 's', 'l', 'to')
  local s, l, to = f[1], f[2], f[3]
  if not s then return end
  local vt = P .. 'vt:' .. s
  local base = tonumber(redis.call('HGET', vt, '') or '0')
  local last = tonumber(redis.call('HGET', vt, to) or '0')
  local v = math.max(base, last) + 1
  redis.call('HSET', vt, to, v)
  redis.call('ZADD', P .. 'q:' .. s .. ':' .. l, v, id)
  redis.call('HSET', j, 'st', 'queued', 'ra', now)
  if not redis.call('ZSCORE', P .. 'senders', s) then
    local tat = tonumber(redis.call('HGET', P .. 'tat', s) or '0')
    redis.call('ZADD', P .. 'senders', math.max(tat, now), s)
  end
end
local function hold(s, untl)
  local tat = tonumber(redis.call('HGET', P .. 'tat', s) or '0')
  if untl > tat then redis.call('HSET', P .. 'tat', s, fmt(untl)) end
  local score = redis.call('ZSCORE', P .. 'senders', s)
  if score and tonumber(score) < untl then redis.call('ZADD', P .. 'senders', fmt(untl), s) end
end
-- Jobs were put in line outside a claim: wake an idle worker (wait_for_work). The channel is
-- the shard's, so that the worker knows which shard to look at.
local function signal()
  redis.call('PUBLISH', P .. 'wake', '1')
end
-- A job with virtual time v left sender s's line, ``left`` jobs behind it: the recipient's
-- entry goes unless they have a later job in line, and the whole hash once the line is empty,
-- so per-recipient state lasts only while there is something to order.
local function leave_line(s, to, v, left)
  local vt = P .. 'vt:' .. s
  if left == 0 then
    redis.call('DEL', vt)
    return
  end
  redis.call('HSET', vt, '', v)
  if to then
    local last = redis.call('HGET', vt, to)
    if last and tonumber(last) <= tonumber(v) then redis.call('HDEL', vt, to) end
  end
end
local function leave(id, token)
  local j = P .. 'job:' .. id
  if redis.call('HGET', j, 'w') ~= token then return false end
  redis.call('ZREM', P .. 'inflight', id)
  redis.call('HDEL', j, 'w')
  return true
end
"""

# ARGV: prefix, now, id, idem key, json, sender, lane, to, cost, consent keys, rate,
#       not_before (-1: now), idem ttl
_ENQUEUE = _PRELUDE + """
local now = clock(tonumber(ARGV[2]))
local id = ARGV[3]
local idem = P .. 'idem:' .. ARGV[4]
local owner = redis.call('GET', idem)
if owner then return {owner, 0} end
redis.call('SET', idem, id, 'EX', ARGV[13])
redis.call('INCR', P .. 'pending')
redis.call('HSET', P .. 'job:' .. id, 'd', ARGV[5], 's', ARGV[6], 'l', ARGV[7], 'to', ARGV[8],
  'c', ARGV[9], 'ck', ARGV[10], 'a', 0)
redis.call('HSET', P .. 'rate', ARGV[6], ARGV[11])
local due = tonumber(ARGV[12])
if due > now then
  redis.call('HSET', P .. 'job:' .. id, 'st', 'delayed')
  redis.call('ZADD', P .. 'delayed', due, id)
else
  push_ready(id, now)
  signal()
end
return {id, 1}
"""

# ARGV: prefix, now, lease µs, token, limit, budget, lookahead µs, worker, affinity µs,
# catch-up µs (how far in the past a late claim may still take a slot), the consent ledger's
# change counter key, then sender, until µs pairs (holds: senders that must not send again
# before until, applied first).
# A sender claimed by another worker ('' = none) stays with it until affinity µs after the next
# slot it was charged; this worker skips it meanwhile.
# Returns {next, suppressed (id, job pairs), the clock at the end, consent changes, then per
# claim: id, job, attempts, allowed, reclaimed, at};
# the n-th claim's lease token is token .. ':' .. n; at is the slot the claim was charged (when
# to send it: now or up to lookahead later). next: when the earliest sender frees (a moment
# within the lookahead if the batch stopped at its limit; -1: no work left).
_CLAIM = _PRELUDE + """
local now = clock(tonumber(ARGV[2]))
local lease, token = tonumber(ARGV[3]), ARGV[4]
local limit, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local horizon = now + tonumber(ARGV[7])
local worker, affinity = ARGV[8], tonumber(ARGV[9])
local catch_up = tonumber(ARGV[10])
for i = 12, #ARGV, 2 do hold(ARGV[i], tonumber(ARGV[i + 1])) end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 200)) do
  redis.call('ZREM', P .. 'delayed', id)
  push_ready(id, now)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'inflight', '-inf', now, 'LIMIT', 0, 200)) do
  redis.call('ZREM', P .. 'inflight', id)
  redis.call('HSET', P .. 'job:' .. id, 'rc', '1')
  redis.call('HDEL', P .. 'job:' .. id, 'w')
  push_ready(id, now)
end
local suppressed = {}
local out = {fmt(now), suppressed, fmt(now), redis.call('GET', ARGV[11]) or '0'}
local claimed, skip, later, steps = 0, 0, nil, 0
-- The reply's clock reading is taken at the end: nothing else runs while a script does, so the
-- consent the claims checked is as of that moment, which a long claim makes much later.
local function finish()
  out[3] = fmt(clock(tonumber(ARGV[2])))
  return out
end
local function elsewhere(s)
  if worker == '' then return 0 end
  local own = redis.call('HGET', P .. 'own', s)
  if not own then return 0 end
  local sep = string.find(own, '|', 1, true)
  if string.sub(own, 1, sep - 1) == worker then return 0 end
  return tonumber(string.sub(own, sep + 1))
end
-- Sender s (its slot at ready) sends its next job, if this worker may have it: false when
-- another worker holds it, true when it was claimed, suppressed or found empty.
local function take(s, ready)
  steps = steps + 1
  local until_free = elsewhere(s)
  if until_free > now then
    local free = math.max(ready, until_free)
    if not later or free < later then later = free end
    return false
  end
  local id, v
  for _, l in ipairs({'r', 'b'}) do
    local popped = redis.call('ZPOPMIN', P .. 'q:' .. s .. ':' .. l)
    if #popped > 0 then id, v = popped[1], popped[2] break end
  end
  if not id then
    redis.call('ZREM', P .. 'senders', s)
    redis.call('DEL', P .. 'vt:' .. s)
    return true
  end
  local j = P .. 'job:' .. id
  local f = redis.call('HMGET', j, 'c', 'ck', 'ra', 'd', 'rc', 'to')
  local q = P .. 'q:' .. s .. ':'
  local left = redis.call('ZCARD', q .. 'r') + redis.call('ZCARD', q .. 'b')
  leave_line(s, f[6], v, left)
  local blocked = false
  if f[2] and f[2] ~= '' then
    local keys = {}
    for k in string.gmatch(f[2], '%S+') do keys[#keys + 1] = k end
    blocked = botkit_consent_blocked(redis.call('MGET', unpack(keys)))
  end
  if blocked then
    redis.call('HSET', j, 'st', 'dead', 'reason', 'opted_out')
    redis.call('ZADD', P .. 'dead', now, id)
    redis.call('DECR', P .. 'pending')
    suppressed[#suppressed + 1] = id
    suppressed[#suppressed + 1] = f[4] or ''
    if left == 0 then redis.call('ZREM', P .. 'senders', s) end
    return true
  end
  local tat = tonumber(redis.call('HGET', P .. 'tat', s) or '0')
  local rate = tonumber(redis.call('HGET', P .. 'rate', s) or '1')
  local start = math.max(tat, now - catch_up)
  local newtat = start + math.ceil(tonumber(f[1]) * 1000000 / rate)
  redis.call('HSET', P .. 'tat', s, newtat)
  if worker ~= '' then
    redis.call('HSET', P .. 'own', s, worker .. '|' .. fmt(newtat + affinity))
  end
  if left > 0 then
    redis.call('ZADD', P .. 'senders', newtat, s)
  else
    redis.call('ZREM', P .. 'senders', s)
  end
  claimed = claimed + 1
  redis.call('ZADD', P .. 'inflight', now + lease, id)
  redis.call('HSET', j, 'st', 'inflight', 'w', token .. ':' .. claimed)
  redis.call('HDEL', j, 'rc')
  local attempts = redis.call('HINCRBY', j, 'a', 1)
  local allowed = math.max(tat, tonumber(f[3] or now))
  local n = #out
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5], out[n + 6] =
    id, f[4], attempts, fmt(allowed), f[5] or '', fmt(start)
  return true
end
-- Senders whose slot has come: the fastest first, since a send that goes late costs its sender
-- that much of its rate for good, and a fast sender more sends per millisecond (with equal
-- rates, the longest waiting first). A sender stays first while it is still due.
local due = redis.call('ZRANGEBYSCORE', P .. 'senders', '-inf', now, 'LIMIT', 0, 1024)
if #due > 1 then
  -- Grouped by rate rather than sorted: senders share a few rates, and table.sort with a
  -- comparator cost 2.2 ms of Redis' time for 515 due senders, in every claim of a burst.
  local rates = redis.call('HMGET', P .. 'rate', unpack(due))
  local by_rate, distinct = {}, {}
  for i = 1, #due do
    local r = tonumber(rates[i]) or 1
    local group = by_rate[r]
    if not group then
      group = {}
      by_rate[r] = group
      distinct[#distinct + 1] = r
    end
    group[#group + 1] = i  -- in slot order: the longest waiting first
  end
  table.sort(distinct, function(a, b) return a > b end)
  local order = {}
  for _, r in ipairs(distinct) do
    for _, i in ipairs(by_rate[r]) do order[#order + 1] = i end
  end
  local i = 1
  while i <= #order and steps < budget do
    if claimed >= limit then out[1] = fmt(now) return finish() end
    local s = due[order[i]]
    local score = redis.call('ZSCORE', P .. 'senders', s)
    if not (score and tonumber(score) <= now and take(s, tonumber(score))) then i = i + 1 end
  end
end
-- Then by slot: what is left due (held by other workers), and what comes within the lookahead.
while steps < budget do
  local top = redis.call('ZRANGE', P .. 'senders', skip, skip, 'WITHSCORES')
  if #top == 0 then out[1] = later and fmt(later) or '-1' return finish() end
  local s, ready = top[1], tonumber(top[2])
  if ready > horizon then out[1] = fmt(math.min(ready, later or ready)) return finish() end
  if claimed >= limit then out[1] = fmt(math.max(ready, now)) return finish() end
  if not take(s, ready) then skip = skip + 1 end
end
return finish()
"""

# ARGV: prefix, now, ttl, then id, token, sid for each job; returns 1/0 per job
_COMPLETE = _PRELUDE + """
local ttl, done = ARGV[3], {}
for i = 4, #ARGV, 3 do
  local id, sid = ARGV[i], ARGV[i + 2]
  if leave(id, ARGV[i + 1]) then
    local j = P .. 'job:' .. id
    redis.call('HSET', j, 'st', 'sent', 'sid', sid)
    redis.call('DECR', P .. 'pending')
    redis.call('EXPIRE', j, ttl)
    redis.call('SET', P .. 'sid:' .. sid, id, 'EX', ttl)
    done[#done + 1] = 1
  elseif redis.call('HGET', P .. 'job:' .. id, 'sid') == sid then
    done[#done + 1] = 1  -- recorded by an earlier call whose answer was lost
  else
    done[#done + 1] = 0
  end
end
return done
"""

# ARGV: prefix, now, id, token, due, error
_RETRY = _PRELUDE + """
if not leave(ARGV[3], ARGV[4]) then return 0 end
local j = P .. 'job:' .. ARGV[3]
redis.call('HSET', j, 'st', 'delayed', 'err', ARGV[6])
redis.call('ZADD', P .. 'delayed', ARGV[5], ARGV[3])
return 1
"""

# ARGV: prefix, now, id, token, reason, error
_BURY = _PRELUDE + """
local now = clock(tonumber(ARGV[2]))
if not leave(ARGV[3], ARGV[4]) then return 0 end
local j = P .. 'job:' .. ARGV[3]
redis.call('HSET', j, 'st', 'dead', 'reason', ARGV[5], 'err', ARGV[6])
redis.call('DECR', P .. 'pending')
redis.call('ZADD', P .. 'dead', now, ARGV[3])
return 1
"""

# ARGV: prefix, now, id, token, reason, ttl
_DROP = _PRELUDE + """
if not leave(ARGV[3], ARGV[4]) then return 0 end
local j = P .. 'job:' .. ARGV[3]
redis.call('HSET', j, 'st', 'dropped', 'reason', ARGV[5])
redis.call('DECR', P .. 'pending')
redis.call('EXPIRE', j, ARGV[6])
return 1
"""

# ARGV: prefix, now, due by
_PROMOTE = _PRELUDE + """
local now = clock(tonumber(ARGV[2]))
local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', ARGV[3])
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'delayed', id)
  push_ready(id, now)
end
if #due > 0 then signal() end
return #due
"""

# ARGV: prefix, now, sender, until
_HOLD = _PRELUDE + """
hold(ARGV[3], tonumber(ARGV[4]))
return 1
"""

# ARGV: prefix, now, id. A redacted dead letter has nothing left to send: not replayed.
_REPLAY = _PRELUDE + """
local now = clock(tonumber(ARGV[2]))
local id = ARGV[3]
if redis.call('HEXISTS', P .. 'job:' .. id, 'rd') == 1 then return 0 end
if redis.call('ZREM', P .. 'dead', id) == 0 then return 0 end
redis.call('HSET', P .. 'job:' .. id, 'a', 0, 'reason', '', 'err', '')
redis.call('PERSIST', P .. 'job:' .. id)
redis.call('INCR', P .. 'pending')
push_ready(id, now)
signal()
return 1
"""


# ARGV: prefix, now, id, idempotency key. Takes the job out of every line and set it is in
# and deletes it, with its SID and idempotency keys; 1 if it was there.
_FORGET = _PRELUDE + """
local id = ARGV[3]
local j = P .. 'job:' .. id
local f = redis.call('HMGET', j, 's', 'l', 'st', 'sid', 'to')
local s, l, st, sid, to = f[1], f[2], f[3], f[4], f[5]
if not s then return 0 end
if l then redis.call('ZREM', P .. 'q:' .. s .. ':' .. l, id) end
for _, set in ipairs({'delayed', 'inflight', 'dead'}) do redis.call('ZREM', P .. set, id) end
if st == 'queued' or st == 'delayed' or st == 'inflight' then
  redis.call('DECR', P .. 'pending')
end
if to then redis.call('HDEL', P .. 'vt:' .. s, to) end
if sid then redis.call('DEL', P .. 'sid:' .. sid) end
if ARGV[4] ~= '' and redis.call('GET', P .. 'idem:' .. ARGV[4]) == id then
  redis.call('DEL', P .. 'idem:' .. ARGV[4])
end
redis.call('DEL', j)
return 1
"""

# ARGV: prefix, now, id, the redacted job JSON. Only a job still dead and not yet redacted.
_REDACT = _PRELUDE + """
local j = P .. 'job:' .. ARGV[3]
if redis.call('HGET', j, 'st') ~= 'dead' or redis.call('HEXISTS', j, 'rd') == 1 then return 0 end
redis.call('HSET', j, 'd', ARGV[4], 'rd', '1')
return 1
"""

# ARGV: prefix, now, then job ids: dead letters past every retention go for good.
_EXPIRE_DEAD = _PRELUDE + """
local dropped = 0
for i = 3, #ARGV do
  local j = P .. 'job:' .. ARGV[i]
  if redis.call('ZREM', P .. 'dead', ARGV[i]) == 1 then
    local sid = redis.call('HGET', j, 'sid')
    if sid then redis.call('DEL', P .. 'sid:' .. sid) end
    redis.call('DEL', j)
    dropped = dropped + 1
  end
end
return dropped
"""

#: Dead letters looked at per step of a retention sweep.
_SWEEP_BATCH = 500


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True)
class _Shard:
    """One slot's queue: its key prefix and the consent change counter its claims read."""

    index: int
    prefix: str
    consent_changes: str

    @property
    def wake(self) -> str:
        return self.prefix + "wake"


class RedisOutboundQueue:
    """The queue over ``shards`` slots (BOTKIT_SHARDS): a sender's jobs and rate state live in
    the slot of the sender's shard, beside a copy of the consent states (ConsentShards), so
    every script stays in one slot and the senders spread over a cluster's masters. A claim
    asks the shards in turn, starting at a rotating one so that none is starved, until it has
    as many jobs as it may take; any worker asks every shard, so a new one needs no
    configuration."""

    def __init__(
        self,
        redis: RedisClient,
        namespace: str = "bot",
        shards: ConsentShards | None = None,
        *,
        durability: Durability | None = None,
        finished_ttl: float = FINISHED_TTL,
        idempotency_ttl: float = IDEMPOTENCY_TTL,
    ) -> None:
        """durability: how many replicas an enqueue must reach before it counts as queued
        (Redis WAIT), so that a message a handler queued survives a failover. finished_ttl:
        how long a sent job is kept; idempotency_ttl: how long an idempotency key is."""
        self._redis = redis
        self._durability = durability
        self._finished_ttl = max(1, int(finished_ttl))
        self._idempotency_ttl = max(1, int(idempotency_ttl))
        self.shards = shards = shards or ConsentShards()
        self._shards = [
            _Shard(i, "{" + tag + "}:out:" + namespace + ":", consent_changes_key(tag))
            for i, tag in enumerate(shards.tags)
        ]
        self._by_wake = {shard.wake: shard.index for shard in self._shards}
        self._wakes = ShardWakes(redis, list(self._by_wake))
        self._scripts = {
            name: redis.register_script(source)
            for name, source in {
                "enqueue": _ENQUEUE,
                "claim": _CLAIM,
                "complete": _COMPLETE,
                "retry": _RETRY,
                "bury": _BURY,
                "drop": _DROP,
                "hold": _HOLD,
                "promote": _PROMOTE,
                "replay": _REPLAY,
                "forget": _FORGET,
                "redact": _REDACT,
                "expire_dead": _EXPIRE_DEAD,
            }.items()
        }

    def _of(self, sender: str) -> _Shard:
        return self._shards[self.shards.of(sender)]

    def _argv(self, shard: _Shard, args: Sequence[Any], now_us: int | None) -> list[Any]:
        return [shard.prefix, -1 if now_us is None else now_us, *args]

    async def _run(
        self, shard: _Shard, name: str, *args: Any, now_us: int | None = None
    ) -> Any:
        keys = [shard.prefix + "senders"]
        return await self._scripts[name](keys=keys, args=self._argv(shard, args, now_us))

    async def _run_durably(
        self, shard: _Shard, name: str, *args: Any, now_us: int | None = None
    ) -> Any:
        """As _run, and on as many replicas as the queue must reach (ReplicaTimeout if not)."""
        keys = [shard.prefix + "senders"]
        argv = self._argv(shard, args, now_us)
        return await run_durably(self._redis, self._scripts[name], keys, argv, self._durability)

    async def enqueue(
        self, job: Job, *, not_before_us: int | None = None, now_us: int | None = None
    ) -> tuple[str, bool]:
        shard = self._of(job.sender)
        owner, created = await self._run_durably(
            shard, "enqueue", *self._enqueue_args(job, not_before_us), now_us=now_us
        )
        self._wakes.signal(shard.index)  # this process's own workers need not wait for the echo
        return _text(owner), bool(created)

    def enqueue_step(self, job: Job, *, not_before_us: int | None = None) -> ScriptCall | None:
        if isinstance(self._redis, RedisCluster):
            return None  # a cluster runs a pipeline by node, in no order: no shared trip
        shard = self._of(job.sender)
        return ScriptCall(
            self._scripts["enqueue"],
            (shard.prefix + "senders",),
            tuple(self._argv(shard, self._enqueue_args(job, not_before_us), None)),
            proof=shard.prefix + "idem:" + job.message.idempotency_key,
            done=lambda _: self._wakes.signal(shard.index),
        )

    def _enqueue_args(self, job: Job, not_before_us: int | None) -> tuple[Any, ...]:
        return (
            job.id,
            job.message.idempotency_key,
            job.model_dump_json(),
            job.sender,
            _LANES[job.lane],
            job.recipient,
            job.cost,
            " ".join(job.consent_keys),
            repr(job.rate),
            -1 if not_before_us is None else not_before_us,
            self._idempotency_ttl,
        )

    async def claim(self, lease: float, *, now_us: int | None = None) -> Claim | Idle:
        batch = await self.claim_many(lease, 1, now_us=now_us)
        if batch.claims:
            return batch.claims[0]
        return Idle(next_us=batch.next_us, suppressed=batch.suppressed)

    async def claim_many(
        self,
        lease: float,
        limit: int,
        *,
        lookahead_us: int = 0,
        holds: Mapping[str, int] | None = None,
        worker: str = "",
        affinity_us: int = 0,
        catch_up_us: int = 0,
        now_us: int | None = None,
    ) -> Batch:
        # Times the caller gives (tests) are not this process's clock: then ask every shard.
        within = lookahead_us / 1_000_000 if now_us is None else math.inf
        due = await self._wakes.due(within)
        asked = due or [self._wakes.earliest()]  # none due: learn when one will be
        held: dict[int, list[Any]] = {}
        for sender, until in (holds or {}).items():
            held.setdefault(self.shards.of(sender), []).extend((sender, until))
        claims: list[Claim] = []
        suppressed: list[str] = []
        suppressed_jobs: list[Job] = []
        changes: dict[int, int] = {}
        next_us: int | None = None
        clock = 0
        for index in asked:
            shard = self._shards[index]
            if len(claims) >= limit:
                next_us = clock  # not asked: it may have work due now
                break
            wanted = limit - len(claims)
            reply: Any = await self._run(
                shard,
                "claim",
                int(lease * 1_000_000),
                token := secrets.token_hex(8),
                wanted,
                wanted + 64,
                lookahead_us,
                worker,
                affinity_us,
                catch_up_us,
                shard.consent_changes,
                *held.get(shard.index, ()),
                now_us=now_us,
            )
            shard_next = int(float(_text(reply[0])))
            shard_clock = int(float(_text(reply[2])))
            clock = max(clock, shard_clock)
            changes[shard.index] = int(reply[3])
            suppressed += [_text(i) for i in reply[1][0::2]]
            suppressed_jobs += [Job.model_validate_json(d) for d in reply[1][1::2] if d]
            found = _claims(shard, token, reply)
            claims += found
            if len(found) >= wanted:
                self._wakes.found(index, 0.0)  # there may be more
            elif shard_next < 0:
                self._wakes.found(index, None)
            else:
                self._wakes.found(index, (shard_next - shard_clock) / 1e6)
            if shard_next >= 0:
                next_us = shard_next if next_us is None else min(next_us, shard_next)
        for index in set(range(len(self._shards))) - set(asked):
            later = self._wakes.due_in(index)  # a shard not asked: when it said it would be due
            if later is not None:
                at = clock + int(later * 1_000_000)
                next_us = at if next_us is None else min(next_us, at)
        return Batch(
            claims=tuple(claims),
            next_us=next_us,
            suppressed=tuple(suppressed),
            suppressed_jobs=tuple(suppressed_jobs),
            now_us=clock,
            consent_changes=changes,
        )

    async def consent_changes(self, shard: int = 0) -> int | None:
        return int(await self._redis.get(self._shards[shard].consent_changes) or 0)

    async def wait_for_work(self, within: float) -> bool:
        return await self._wakes.wait(within)

    async def complete(self, claim: Claim, twilio_sid: str) -> bool:
        [done] = await self.complete_many([(claim, twilio_sid)])
        return done

    async def complete_many(self, done: Sequence[tuple[Claim, str]]) -> list[bool]:
        by_shard: dict[int, list[int]] = {}
        for i, (claim, _) in enumerate(done):
            by_shard.setdefault(claim.shard, []).append(i)

        async def settle(shard: int, which: list[int]) -> list[Any]:
            args = [x for i in which for x in (done[i][0].job.id, done[i][0].token, done[i][1])]
            ttl = self._finished_ttl
            return list(await self._run(self._shards[shard], "complete", ttl, *args))

        replies = await asyncio.gather(*(settle(s, w) for s, w in by_shard.items()))
        results = [False] * len(done)
        for which, reply in zip(by_shard.values(), replies, strict=True):
            for i, r in zip(which, reply, strict=True):
                results[i] = bool(r)
        return results

    async def retry(self, claim: Claim, at_us: int, error: str) -> bool:
        shard = self._shards[claim.shard]
        self._wakes.signal(shard.index)  # the shard's next work may be this job, again
        return bool(await self._run(shard, "retry", claim.job.id, claim.token, at_us, error))

    async def bury(self, claim: Claim, reason: str, error: str | None) -> bool:
        shard = self._shards[claim.shard]
        args = (claim.job.id, claim.token, reason, error or "")
        return bool(await self._run(shard, "bury", *args))

    async def drop(self, claim: Claim, reason: str) -> bool:
        shard = self._shards[claim.shard]
        args = (claim.job.id, claim.token, reason, self._finished_ttl)
        return bool(await self._run(shard, "drop", *args))

    async def promote_delayed(self, due_by_us: int, *, now_us: int | None = None) -> int:
        promoted = 0
        for shard in self._shards:
            here = int(await self._run(shard, "promote", due_by_us, now_us=now_us))
            if here:
                self._wakes.signal(shard.index)
            promoted += here
        return promoted

    async def hold_sender(self, sender: str, until_us: int) -> None:
        shard = self._of(sender)
        await self._run(shard, "hold", sender, until_us)
        self._wakes.signal(shard.index)  # its time changed: ask it again

    async def update(self, claim: Claim, job: Job) -> None:
        key = self._shards[claim.shard].prefix + "job:" + job.id
        await self._redis.hset(key, "d", job.model_dump_json())

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letters: list[DeadLetter] = []
        for shard in self._shards:
            letters += await self._dead_letters(shard, limit)
        return sorted(letters, key=lambda letter: letter.at_us, reverse=True)[:limit]

    async def _dead_letters(self, shard: _Shard, limit: int) -> list[DeadLetter]:
        ids: Any = await self._redis.zrevrange(shard.prefix + "dead", 0, limit - 1, withscores=True)
        letters = []
        for raw_id, score in ids:
            fields = await self._redis.hmget(
                shard.prefix + "job:" + _text(raw_id), "d", "reason", "err", "a"
            )
            if fields[0] is None:
                continue
            letters.append(
                DeadLetter(
                    job=Job.model_validate_json(_text(fields[0])),
                    reason=_text(fields[1] or b""),
                    error=_text(fields[2]) if fields[2] else None,
                    at_us=int(score),
                    attempts=int(fields[3] or 0),
                )
            )
        return letters

    async def replay(self, job_id: str) -> bool:
        for shard in self._shards:
            if await self._run(shard, "replay", job_id):
                self._wakes.signal(shard.index)
                return True
        return False

    async def find_by_sid(self, twilio_sid: str) -> Job | None:
        for shard in self._shards:
            job_id = await self._redis.get(shard.prefix + "sid:" + twilio_sid)
            if job_id is not None:
                data = await self._redis.hget(shard.prefix + "job:" + _text(job_id), "d")
                return None if data is None else Job.model_validate_json(_text(data))
        return None

    async def status(self, job_id: str) -> dict[str, str] | None:
        for shard in self._shards:
            fields = await self._redis.hgetall(shard.prefix + "job:" + job_id)
            if fields:
                wanted = {
                    "st": "state", "a": "attempts", "sid": "sid", "reason": "reason", "err": "error"
                }
                found = {_text(k): _text(v) for k, v in fields.items()}
                return {name: found[key] for key, name in wanted.items() if found.get(key)}
        return None

    async def pending(self) -> int:
        total = 0
        for shard in self._shards:
            total += int(await self._redis.get(shard.prefix + "pending") or 0)
        return total

    async def redact_dead_letters(self, redact_before_us: int, drop_before_us: int) -> int:
        changed = 0
        for shard in self._shards:
            changed += await self._redact_dead_letters(shard, redact_before_us, drop_before_us)
        return changed

    async def _redact_dead_letters(
        self, shard: _Shard, redact_before_us: int, drop_before_us: int
    ) -> int:
        changed = 0
        dead = shard.prefix + "dead"
        ids = [_text(i) for i in await self._redis.zrangebyscore(dead, "-inf", drop_before_us)]
        for start in range(0, len(ids), _SWEEP_BATCH):
            batch = ids[start : start + _SWEEP_BATCH]
            changed += int(await self._run(shard, "expire_dead", *batch))
        for job_id in await self._redis.zrangebyscore(dead, "-inf", redact_before_us):
            fields = await self._redis.hmget(shard.prefix + "job:" + _text(job_id), "d", "rd")
            if fields[0] is None or fields[1] is not None:
                continue
            copy = redacted(Job.model_validate_json(_text(fields[0])))
            changed += int(await self._run(shard, "redact", copy.id, copy.model_dump_json()))
        return changed

    async def export_person(self, person: Person) -> Found:
        rows = []
        for _, job_id, job in await self._jobs_of(person):
            rows.append(job_row(job, await self.status(job_id) or {}))
        return rows

    async def erase_person(self, person: Person) -> int:
        erased = 0
        for shard, job_id, job in await self._jobs_of(person):
            erased += int(await self._run(shard, "forget", job_id, job.message.idempotency_key))
        return erased

    async def _jobs_of(self, person: Person) -> list[tuple[_Shard, str, Job]]:
        """The jobs to ``person``, whatever their state (a walk of every shard's jobs)."""
        found = []
        for shard in self._shards:
            job_keys = await scan_keys(self._redis, glob_escape(shard.prefix) + "job:*")
            for start in range(0, len(job_keys), _SWEEP_BATCH):
                batch = job_keys[start : start + _SWEEP_BATCH]
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key in batch:
                        pipe.hget(key, "d")
                    stored = await pipe.execute()
                for key, raw in zip(batch, stored, strict=True):
                    job = None if raw is None else Job.model_validate_json(_text(raw))
                    if job is not None and addressed_to(job, person):
                        found.append((shard, key.removeprefix(shard.prefix + "job:"), job))
        return found

    async def close(self) -> None:
        await self._wakes.close()


def _claims(shard: _Shard, token: str, reply: Any) -> list[Claim]:
    """The claims in a claim script's reply (see _CLAIM for its layout)."""
    claimed_us = int(float(_text(reply[2])))
    changes = int(reply[3])
    fields = reply[4:]
    return [
        Claim(
            job=Job.model_validate_json(_text(fields[i + 1])),
            token=f"{token}:{i // _FIELDS + 1}",
            attempts=int(fields[i + 2]),
            allowed_us=int(float(_text(fields[i + 3]))),
            claimed_us=claimed_us,
            reclaimed=_text(fields[i + 4]) == "1",
            send_at_us=int(float(_text(fields[i + 5]))),
            consent_changes=changes,
            shard=shard.index,
        )
        for i in range(0, len(fields), _FIELDS)
    ]
