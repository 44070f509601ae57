"""CampaignStore on Redis: each campaign's keys share the hash tag ``{<ns>:campaign:<id>}``, so
every multi-key script touches one slot; an index of campaigns by creation sits in its own.

==================  ======  ===========================================================
``...:meta``        string  the campaign's JSON (its state apart)
``...:state``       string  its state
``...:seen``        set     digests (pepper-HMAC, 20 hex digits) of everyone added
``...:rows``        list    recipients still to feed: {"to": ..., "columns": {...}}
``...:held``        zset    rows held for quiet hours, by when they may go (rule clock, s)
``...:lease``       string  the feeder holding the campaign (expires)
``...:counts``      hash    count -> n
``...:series``      hash    "<minute>:<count>" -> n
``{<ns>:campaigns}``zset    campaign ids by creation time
==================  ======  ===========================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from botkit.campaigns.model import Campaign, Report, State
from botkit.campaigns.protocol import (
    ERASED_ROW,
    FINISHED_TTL,
    audience_digest,
    person_rows,
    row_of,
)
from botkit.campaigns.transitions import next_state
from botkit.core.person import Found, Person
from botkit.core.redis_client import RedisClient

_PARTS = ("meta", "state", "seen", "rows", "held", "lease", "counts", "series")

# KEYS: the campaign's keys (_PARTS order). ARGV: from state, to state, final (1/0), ttl.
_SET_STATE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[4], KEYS[5], KEYS[6])
  for _, k in ipairs({KEYS[1], KEYS[2], KEYS[3], KEYS[7], KEYS[8]}) do
    redis.call('EXPIRE', k, ARGV[4])
  end
end
return 1
"""

# KEYS: rows. ARGV: index, the row expected there, what it becomes. 0 if the row moved.
_ERASE_ROW = """
if redis.call('LINDEX', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('LSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

#: Walks of an audience an erase makes before giving up on rows that keep moving (a feeder
#: consuming the head meanwhile).
_ERASE_PASSES = 5

# KEYS: the campaign's keys. ARGV: digest, row pairs. Rows of a finished campaign are refused.
_ADD = """
local state = redis.call('GET', KEYS[2])
if not state or state == 'done' or state == 'canceled' then return 0 end
local added = 0
for i = 1, #ARGV, 2 do
  if redis.call('SADD', KEYS[3], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[4], ARGV[i + 1])
    added = added + 1
  end
end
if added > 0 then redis.call('HINCRBY', KEYS[7], 'recipients', added) end
return added
"""

# KEYS: state, counts, series. ARGV: minute, then name, n pairs. A campaign that is gone (or
# never was) is not counted: its counts would be kept for good, with no campaign to expire them.
_COUNT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[3], ARGV[1] .. ':' .. ARGV[i], ARGV[i + 1])
end
return 1
"""

# KEYS: lease. ARGV: owner, ttl ms.
_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS: lease, rows. ARGV: owner, count.
_CONSUME = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[2], ARGV[2], -1)
return 1
"""

# KEYS: lease, held. ARGV: owner, rows...
_RELEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV do redis.call('ZREM', KEYS[2], ARGV[i]) end
return 1
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisCampaignStore:
    def __init__(self, redis: RedisClient, prefix: str = "bot") -> None:
        self._redis = redis
        self._prefix = prefix
        self._index = "{" + prefix + ":campaigns}"
        #: The campaigns not yet done or canceled (a set in the index's slot).
        self._live = self._index + ":live"
        self._live_seeded = False
        self._set_state = redis.register_script(_SET_STATE)
        self._add = redis.register_script(_ADD)
        self._count = redis.register_script(_COUNT)
        self._lease = redis.register_script(_LEASE)
        self._consume = redis.register_script(_CONSUME)
        self._release = redis.register_script(_RELEASE)
        self._erase_row = redis.register_script(_ERASE_ROW)

    def _keys(self, campaign_id: str) -> list[str]:
        tag = "{" + f"{self._prefix}:campaign:{campaign_id}" + "}"
        return [f"{tag}:{part}" for part in _PARTS]

    def _key(self, campaign_id: str, part: str) -> str:
        return self._keys(campaign_id)[_PARTS.index(part)]

    async def create(self, campaign: Campaign) -> bool:
        keys = self._keys(campaign.id)
        body = campaign.model_dump_json(exclude={"state"})
        if not await self._redis.set(keys[0], body, nx=True):
            return False
        await self._redis.set(keys[1], campaign.state)
        await self._redis.zadd(self._index, {campaign.id: campaign.created})
        await self._redis.sadd(self._live, campaign.id)
        return True

    async def get(self, campaign_id: str) -> Campaign | None:
        keys = self._keys(campaign_id)
        body, state = await self._redis.mget(keys[0], keys[1])
        if body is None or state is None:
            return None
        return Campaign.model_validate_json(_text(body)).model_copy(
            update={"state": _text(state)}
        )

    async def recent(self, limit: int = 50) -> list[Campaign]:
        ids: Any = await self._redis.zrevrange(self._index, 0, limit * 2)
        found: list[Campaign] = []
        for raw in ids:
            campaign = await self.get(_text(raw))
            if campaign is None:
                await self._redis.zrem(self._index, raw)  # expired
            elif len(found) < limit:
                found.append(campaign)
        return found

    async def sending(self) -> list[Campaign]:
        if not self._live_seeded:  # campaigns created before the live set existed
            every: Any = await self._redis.zrange(self._index, 0, -1)
            if every:
                await self._redis.sadd(self._live, *every)  # the ended leave below
            self._live_seeded = True
        found: list[Campaign] = []
        for raw in await self._redis.smembers(self._live):
            campaign = await self.get(_text(raw))
            if campaign is None or campaign.state in ("done", "canceled"):
                await self._redis.srem(self._live, raw)  # over (or expired) for good
            elif campaign.state == "sending":
                found.append(campaign)
        return found

    async def set_state(self, campaign_id: str, state: State) -> Campaign | None:
        while True:
            campaign = await self.get(campaign_id)
            if campaign is None:
                return None
            wanted = next_state(campaign.state, state)
            final = "1" if wanted in ("done", "canceled") and wanted != campaign.state else "0"
            args: list[str | int] = [campaign.state, wanted, final, FINISHED_TTL]
            if await self._set_state(keys=self._keys(campaign_id), args=args):
                if final == "1":  # for good: nothing brings a campaign back from there
                    await self._redis.srem(self._live, campaign_id)
                return campaign.model_copy(update={"state": wanted})

    async def add(self, campaign_id: str, rows: Sequence[tuple[str, str]]) -> int:
        if not rows:
            return 0
        args = [x for pair in rows for x in pair]
        return int(await self._add(keys=self._keys(campaign_id), args=args))

    async def lease(self, campaign_id: str, owner: str, ttl: float) -> bool:
        keys = [self._key(campaign_id, "lease")]
        return bool(await self._lease(keys=keys, args=[owner, int(ttl * 1000)]))

    async def head(self, campaign_id: str, limit: int) -> list[str]:
        if limit <= 0:
            return []  # LRANGE 0 -1 would be every row
        rows: Any = await self._redis.lrange(self._key(campaign_id, "rows"), 0, limit - 1)
        return [_text(r) for r in rows]

    async def consume(self, campaign_id: str, owner: str, count: int) -> bool:
        keys = [self._key(campaign_id, "lease"), self._key(campaign_id, "rows")]
        return bool(await self._consume(keys=keys, args=[owner, count]))

    async def hold(self, campaign_id: str, rows: Mapping[str, float]) -> None:
        if rows:
            await self._redis.zadd(self._key(campaign_id, "held"), dict(rows))

    async def due_held(self, campaign_id: str, now: float, limit: int) -> list[str]:
        rows: Any = await self._redis.zrangebyscore(
            self._key(campaign_id, "held"), "-inf", now, start=0, num=limit
        )
        return [_text(r) for r in rows]

    async def release(self, campaign_id: str, owner: str, rows: Sequence[str]) -> None:
        if rows:
            keys = [self._key(campaign_id, "lease"), self._key(campaign_id, "held")]
            await self._release(keys=keys, args=[owner, *rows])

    async def remaining(self, campaign_id: str) -> int:
        rows = await self._redis.llen(self._key(campaign_id, "rows"))
        held = await self._redis.zcard(self._key(campaign_id, "held"))
        return int(rows) + int(held)

    async def count(self, increments: Mapping[str, Mapping[str, int]], minute: int) -> None:
        for campaign_id, counts in increments.items():
            keys = [self._key(campaign_id, part) for part in ("state", "counts", "series")]
            args: list[str | int] = [minute]
            for name, n in counts.items():
                args += [name, n]
            await self._count(keys=keys, args=args)

    async def counts(self, campaign_id: str) -> dict[str, int]:
        counts: Any = await self._redis.hgetall(self._key(campaign_id, "counts"))
        return {_text(k): int(v) for k, v in counts.items()}

    async def report(self, campaign_id: str) -> Report | None:
        campaign = await self.get(campaign_id)
        if campaign is None:
            return None
        counts = await self.counts(campaign_id)
        raw_series: Any = await self._redis.hgetall(self._key(campaign_id, "series"))
        series: dict[int, dict[str, int]] = {}
        for key, n in raw_series.items():
            minute, _, name = _text(key).partition(":")
            series.setdefault(int(minute), {})[name] = int(n)
        return Report(
            campaign=campaign,
            counts=counts,
            series=series,
            remaining=await self.remaining(campaign_id),
        )

    async def export_person(self, person: Person) -> Found:
        found: Found = []
        for campaign_id in await self._all_ids():
            rows: Any = await self._redis.lrange(self._key(campaign_id, "rows"), 0, -1)
            held: Any = await self._redis.zrange(
                self._key(campaign_id, "held"), 0, -1, withscores=True
            )
            found += person_rows(
                campaign_id, [_text(r) for r in rows], {_text(r): s for r, s in held}, person
            )
        return found

    async def erase_person(self, person: Person) -> int:
        erased = 0
        for campaign_id in await self._all_ids():
            rows_key = self._key(campaign_id, "rows")
            for _ in range(_ERASE_PASSES):
                rows: Any = await self._redis.lrange(rows_key, 0, -1)
                theirs = [
                    (i, _text(raw)) for i, raw in enumerate(rows) if row_of(_text(raw), person)
                ]
                moved = 0
                for index, raw in theirs:
                    done = await self._erase_row(keys=[rows_key], args=[index, raw, ERASED_ROW])
                    erased += int(done)
                    moved += 1 - int(done)
                if not moved:
                    break
            held_key = self._key(campaign_id, "held")
            held: Any = await self._redis.zrange(held_key, 0, -1)
            theirs_held = [raw for raw in held if row_of(_text(raw), person)]
            if theirs_held:
                erased += int(await self._redis.zrem(held_key, *theirs_held))
            await self._redis.srem(self._key(campaign_id, "seen"), audience_digest(person))
        return erased

    async def _all_ids(self) -> list[str]:
        ids: Any = await self._redis.zrange(self._index, 0, -1)
        return [_text(i) for i in ids]
