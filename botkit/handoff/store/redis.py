"""HandoffStore in Redis: every routing decision is one Lua script, so it reads and changes the
queues, the agents' loads and presence and the records in one atomic step, however many
processes decide at once.

Keys of one bot share the hash tag ``{<bot>:handoff}`` (``P``), so each script touches one slot
(Redis Cluster):

=====================  ======  ================================================================
``P:rec:<CH>``         string  the conversation's HandoffRecord as JSON, expiring after its ttl
                               after its last change; with an agent, also ``agent_key``
``P:queue:<skill>``    zset    conversations waiting for an agent of the skill, scored by
                               HandoffRecord.score (priority first, then waiting time)
``P:held:<A>``         set     the conversations the agent has: those whose record still
                               exists are the agent's load (the rest leave it then)
``P:presence``         hash    ``A`` -> available, away or offline (absent: the roster's)
``P:skills``           set     every skill that has had a queue (for the desk and /metrics)
=====================  ======  ================================================================

``A`` is the agent's pseudonym: the pepper-HMAC of their identity, which is often a phone
number. Lua cannot compute it (the pepper never goes to Redis), so Python hands each script the
pseudonym of every agent it may name (each roster member's ``key``, the agent an argument
names), and a record an agent holds keeps its agent's in ``agent_key``, for the step that later
takes it off them. The record's ``agent`` is the one place the identity itself is kept, while
they hold it (docs/privacy.md).

Each script answers one JSON document: the record it decided about, a position, a refusal, and
``changed``: the other records the step moved (an agent who freed up taking the next in line).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, cast

from botkit.core.person import Found, Person, Pseudonym
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys
from botkit.handoff.store.protocol import (
    PRESENCES,
    RECORD_TTL,
    HandoffRecord,
    Presence,
    Refusal,
    Released,
    Roster,
    Routed,
    Transferred,
    agent_row,
    erase_records,
)

#: Agents' pseudonyms, and rosters as the scripts read them, remembered per store.
KNOWN_AGENTS = 1024
KNOWN_ROSTERS = 32

# ARGV: prefix, roster JSON, now, record ttl ms, then each script's own. The helpers below are
# the same rules as MemoryHandoffStore's methods of the same names.
_PRELUDE = """
local P = ARGV[1]
local roster = cjson.decode(ARGV[2])
local now = tonumber(ARGV[3])
local ttl = ARGV[4]
local NULL = cjson.null
local changed = {}

local function member(name)
  for _, m in ipairs(roster.members) do
    if m.name == name then return m end
  end
  return nil
end
local function has(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end
-- An agent is named in keys by their pseudonym ``key``, never by their name.
local function presence_of(key)
  return redis.call('HGET', P .. 'presence', key) or roster.presence
end
-- A conversation whose record expired (nothing happened in it for the ttl) is no longer held:
-- it leaves the set here, or it would count against the agent's capacity for good.
local function load_of(key)
  local held = P .. 'held:' .. key
  local load = 0
  for _, sid in ipairs(redis.call('SMEMBERS', held)) do
    if redis.call('EXISTS', P .. 'rec:' .. sid) == 1 then
      load = load + 1
    else
      redis.call('SREM', held, sid)
    end
  end
  return load
end
local function agent_of(rec)
  if rec.agent == nil or rec.agent == NULL then return nil end
  return rec.agent
end
-- The pseudonym of the record's agent (nil: none, or unknown for a record kept from before
-- agent_key, whose agent has left the roster).
local function key_of(rec)
  if agent_of(rec) == nil then return nil end
  if rec.agent_key ~= nil and rec.agent_key ~= NULL then return rec.agent_key end
  local m = member(rec.agent)
  if m then return m.key end
  return nil
end
local function unhold(rec)
  local key = key_of(rec)
  if key then redis.call('SREM', P .. 'held:' .. key, rec.conversation_sid) end
end
local function read(sid)
  local raw = redis.call('GET', P .. 'rec:' .. sid)
  if raw then return cjson.decode(raw) end
  return nil
end
local function write(rec)
  redis.call('SET', P .. 'rec:' .. rec.conversation_sid, cjson.encode(rec), 'PX', ttl)
  return rec
end
local function score(rec)
  return string.format('%.6f', tonumber(rec.queued_at) - tonumber(rec.priority) * 1e10)
end
local function rank(rec)
  if rec.mode ~= 'queued' then return nil end
  local r = redis.call('ZRANK', P .. 'queue:' .. rec.skill, rec.conversation_sid)
  if r then return r + 1 end
  return nil
end
local function unqueue(rec)
  local r = rank(rec)
  if r then redis.call('ZREM', P .. 'queue:' .. rec.skill, rec.conversation_sid) end
  return r
end
local function give(rec, name, key)
  unqueue(rec)
  redis.call('SADD', P .. 'held:' .. key, rec.conversation_sid)
  rec.mode = 'agent'
  rec.agent = name
  rec.agent_key = key
  rec.assigned_at = now
  return write(rec)
end
local function enqueue(rec)
  rec.mode = 'queued'
  rec.agent = NULL
  rec.agent_key = NULL
  rec.assigned_at = NULL
  redis.call('ZADD', P .. 'queue:' .. rec.skill, score(rec), rec.conversation_sid)
  redis.call('SADD', P .. 'skills', rec.skill)
  return write(rec)
end
local function free_agent(skill, excluded)
  local best, best_load = nil, nil
  for _, m in ipairs(roster.members) do
    if m.name ~= excluded and has(m.skills, skill) and presence_of(m.key) == 'available' then
      local load = load_of(m.key)
      if load < m.capacity and (best_load == nil or load < best_load) then
        best, best_load = m, load
      end
    end
  end
  return best
end
local function next_for(m)
  while true do
    local best, best_skill, best_score = nil, nil, nil
    for _, s in ipairs(m.skills) do
      local head = redis.call('ZRANGE', P .. 'queue:' .. s, 0, 0, 'WITHSCORES')
      if #head > 0 then
        local sc = tonumber(head[2])
        if best == nil or sc < best_score or (sc == best_score and head[1] < best) then
          best, best_skill, best_score = head[1], s, sc
        end
      end
    end
    if best == nil then return nil end
    local rec = read(best)
    if rec and rec.mode == 'queued' and rec.skill == best_skill then return rec end
    redis.call('ZREM', P .. 'queue:' .. best_skill, best)  -- expired or moved: drop it
  end
end
local function fill(name)
  local m = member(name)
  if m == nil or presence_of(m.key) ~= 'available' then return end
  local load = load_of(m.key)  -- counted once: each give adds one
  while load < m.capacity do
    local rec = next_for(m)
    if rec == nil then return end
    table.insert(changed, give(rec, m.name, m.key))
    load = load + 1
  end
end
local function answer(result)
  result.changed = changed
  return cjson.encode(result)
end
local function place(rec, excluded)
  local m = free_agent(rec.skill, excluded)
  if m then return answer({record = give(rec, m.name, m.key)}) end
  enqueue(rec)
  return answer({record = rec, position = rank(rec)})
end
"""

# ARGV[5]: the record to route.
_ROUTE = (
    _PRELUDE
    + """
local rec = cjson.decode(ARGV[5])
local known = read(rec.conversation_sid)
if known and known.mode ~= 'bot' then return answer({record = known, position = rank(known)}) end
return place(rec, nil)
"""
)

# ARGV[5]: the record, ARGV[6]: the agent named, ARGV[7]: their pseudonym.
_ASSIGN = (
    _PRELUDE
    + """
local rec = cjson.decode(ARGV[5])
local name, key = ARGV[6], ARGV[7]
local known = read(rec.conversation_sid)
local left, previous = nil, nil
if known then
  left = unqueue(known)
  previous = agent_of(known)
  if previous and previous ~= name then unhold(known) end
  if known.mode ~= 'bot' then rec.queued_at = known.queued_at end
end
give(rec, name, key)
if previous and previous ~= name then fill(previous) end
return answer({record = rec, left_position = left})
"""
)

# ARGV[5]: conversation SID, ARGV[6]: '1' back to the bot, '0' closed.
_RELEASE = (
    _PRELUDE
    + """
local sid = ARGV[5]
local rec = read(sid)
if rec == nil then return '{}' end
local before = cjson.decode(cjson.encode(rec))
local left = unqueue(rec)
local name = agent_of(rec)
unhold(rec)
if ARGV[6] == '1' then
  rec.mode = 'bot'
  rec.agent = NULL
  rec.agent_key = NULL
  write(rec)
else
  redis.call('DEL', P .. 'rec:' .. sid)
end
if name then fill(name) end
return answer({record = before, left_position = left})
"""
)

# ARGV[5]: agent.
_TAKE = (
    _PRELUDE
    + """
local m = member(ARGV[5])
if m == nil or presence_of(m.key) == 'offline' or load_of(m.key) >= m.capacity then
  return '{}'
end
local rec = next_for(m)
if rec == nil then return '{}' end
return answer({record = give(rec, m.name, m.key)})
"""
)

# ARGV[5]: agent, ARGV[6]: their pseudonym, ARGV[7]: presence.
_PRESENCE = (
    _PRELUDE
    + """
local name, key, presence = ARGV[5], ARGV[6], ARGV[7]
redis.call('HSET', P .. 'presence', key, presence)
if presence == 'available' then
  fill(name)
elseif presence == 'offline' then
  local held = {}
  for _, sid in ipairs(redis.call('SMEMBERS', P .. 'held:' .. key)) do
    local rec = read(sid)
    if rec and key_of(rec) == key then table.insert(held, rec) end
  end
  redis.call('DEL', P .. 'held:' .. key)
  table.sort(held, function(a, b)
    local sa, sb = tonumber(score(a)), tonumber(score(b))
    if sa ~= sb then return sa < sb end
    return a.conversation_sid < b.conversation_sid
  end)
  for _, rec in ipairs(held) do
    local other = free_agent(rec.skill, name)
    if other then
      table.insert(changed, give(rec, other.name, other.key))
    else
      table.insert(changed, enqueue(rec))
    end
  end
end
return answer({})
"""
)

# ARGV[5]: conversation SID, ARGV[6]: agent or '', ARGV[7]: skill or ''.
_TRANSFER = (
    _PRELUDE
    + """
local sid, to_agent, to_skill = ARGV[5], ARGV[6], ARGV[7]
local rec = read(sid)
if rec == nil or rec.mode ~= 'agent' or agent_of(rec) == nil then
  return cjson.encode({refusal = 'not_with_agent'})
end
local former = rec.agent
if to_agent ~= '' then
  if to_agent == former then return cjson.encode({refusal = 'same_agent'}) end
  local m = member(to_agent)
  if m == nil then return cjson.encode({refusal = 'unknown_agent'}) end
  if presence_of(m.key) ~= 'available' then return cjson.encode({refusal = 'unavailable'}) end
  if load_of(m.key) >= m.capacity then return cjson.encode({refusal = 'full'}) end
  unhold(rec)
  give(rec, m.name, m.key)
  fill(former)
  return answer({record = rec})
end
local skilled = false
for _, m in ipairs(roster.members) do
  if has(m.skills, to_skill) then skilled = true end
end
if not skilled then return cjson.encode({refusal = 'no_skill'}) end
unhold(rec)
fill(former)
rec.skill = to_skill
return place(rec, former)
"""
)

# ARGV[5]: conversation SID, ARGV[6]: author.
_MARK_REPLIED = (
    _PRELUDE
    + """
local rec = read(ARGV[5])
if rec == nil or rec.mode ~= 'agent' or agent_of(rec) ~= ARGV[6] or rec.replied == true then
  return '{}'
end
rec.replied = true
write(rec)
return cjson.encode({waited = now - tonumber(rec.queued_at)})
"""
)


# ARGV[5]: an agent's pseudonym. Erasing them: what they hold goes back to its queue, keeping
# its wait (given to nobody: the erase passes no roster), and their presence is forgotten.
# Answers how many records changed, plus one for a presence.
_FORGET_AGENT = (
    _PRELUDE
    + """
local key = ARGV[5]
local erased = 0
for _, sid in ipairs(redis.call('SMEMBERS', P .. 'held:' .. key)) do
  local rec = read(sid)
  if rec and key_of(rec) == key then
    enqueue(rec)
    erased = erased + 1
  end
end
redis.call('DEL', P .. 'held:' .. key)
erased = erased + redis.call('HDEL', P .. 'presence', key)
return cjson.encode({erased = erased})
"""
)


def key_prefix(namespace: str) -> str:
    """Where the keys of a bot's handoffs begin (``P`` above)."""
    return f"{{{namespace}:handoff}}:"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _records(raw: Any) -> tuple[HandoffRecord, ...]:
    if not isinstance(raw, list):  # cjson writes an empty Lua table as {}
        return ()
    return tuple(HandoffRecord.model_validate(item) for item in raw)


def _record(found: dict[str, Any]) -> HandoffRecord | None:
    raw = found.get("record")
    return None if raw is None else HandoffRecord.model_validate(raw)


class RedisHandoffStore:
    def __init__(
        self,
        redis: RedisClient,
        pseudonym: Pseudonym,
        *,
        prefix: str = "bot",
        ttl: float = RECORD_TTL,
    ) -> None:
        self._redis = redis
        self._key = lru_cache(maxsize=KNOWN_AGENTS)(pseudonym)
        self._roster_json = lru_cache(maxsize=KNOWN_ROSTERS)(self._encode_roster)
        self._prefix = key_prefix(prefix)
        self._ttl_ms = int(ttl * 1000)
        self._route = redis.register_script(_ROUTE)
        self._assign = redis.register_script(_ASSIGN)
        self._release = redis.register_script(_RELEASE)
        self._take = redis.register_script(_TAKE)
        self._presence = redis.register_script(_PRESENCE)
        self._transfer = redis.register_script(_TRANSFER)
        self._mark_replied = redis.register_script(_MARK_REPLIED)
        self._forget_agent = redis.register_script(_FORGET_AGENT)

    async def export_person(self, person: Person) -> Found:
        found = []
        for key in sorted(await scan_keys(self._redis, glob_escape(self._prefix) + "rec:*")):
            raw = await self._redis.get(key)
            record = None if raw is None else HandoffRecord.model_validate_json(raw)
            if record is not None and person.is_address(record.customer):
                found.append(record.model_dump(mode="json"))
        # As an agent: their pseudonym is their number's digest.
        sids: list[Any] = list(await self._redis.smembers(self._prefix + "held:" + person.digest))
        holding = [
            r.conversation_sid
            for r in await self._many(_text(sid) for sid in sids)
            if person.is_address(r.agent)
        ]
        presence = await self._redis.hget(self._prefix + "presence", person.digest)
        return found + agent_row(None if presence is None else _text(presence), holding)

    async def erase_person(self, person: Person) -> int:
        erased = await erase_records(self, person)
        found = await self._run(self._forget_agent, Roster(), 0.0, person.digest)
        return erased + int(found["erased"])

    def _encode_roster(self, roster: Roster) -> str:
        """The roster as the scripts read it: each member with their pseudonym (``key``)."""
        members = [
            {
                "name": m.name,
                "key": self._key(m.name),
                "skills": list(m.skills),
                "capacity": m.capacity,
            }
            for m in roster.members
        ]
        return json.dumps({"members": members, "presence": roster.presence})

    async def _run(self, script: Any, roster: Roster, now: float, *args: str) -> dict[str, Any]:
        # The scripts build their keys from the prefix; KEYS[1] (a key of the bot's slot, which
        # the scripts do not read) is what routes them to that slot's node on a cluster.
        keys = [self._prefix + "skills"]
        args_ = [self._prefix, self._roster_json(roster), repr(now), self._ttl_ms, *args]
        raw = await script(keys=keys, args=args_)
        found: dict[str, Any] = json.loads(_text(raw))
        return found

    # Reading ---------------------------------------------------------------------------------

    async def get(self, conversation_sid: str) -> HandoffRecord | None:
        raw = await self._redis.get(self._prefix + "rec:" + conversation_sid)
        return None if raw is None else HandoffRecord.model_validate_json(raw)

    async def presence(self, agent: str, roster: Roster) -> Presence:
        raw = await self._redis.hget(self._prefix + "presence", self._key(agent))
        found: Any = roster.presence if raw is None else _text(raw)
        return cast(Presence, found) if found in PRESENCES else roster.presence

    async def holding(self, agent: str) -> list[HandoffRecord]:
        held = self._prefix + "held:" + self._key(agent)
        sids: list[Any] = list(await self._redis.smembers(held))
        found = await self._many(_text(sid) for sid in sids)
        return sorted(found, key=lambda r: (r.assigned_at or 0.0, r.conversation_sid))

    async def waiting(self, skill: str, limit: int | None = None) -> list[HandoffRecord]:
        if limit == 0:
            return []
        last = -1 if limit is None else limit - 1
        sids: list[Any] = await self._redis.zrange(self._prefix + "queue:" + skill, 0, last)
        found = await self._many(_text(sid) for sid in sids)
        return [r for r in found if r.mode == "queued" and r.skill == skill]

    async def position(self, conversation_sid: str) -> int | None:
        record = await self.get(conversation_sid)
        if record is None or record.mode != "queued":
            return None
        rank: Any = await self._redis.zrank(
            self._prefix + "queue:" + record.skill, conversation_sid
        )
        return None if rank is None else int(rank) + 1

    async def length(self, skill: str) -> int:
        return int(await self._redis.zcard(self._prefix + "queue:" + skill))

    async def skills(self) -> list[str]:
        members: Any = await self._redis.smembers(self._prefix + "skills")
        return sorted(_text(m) for m in members)

    async def _many(self, sids: Any) -> list[HandoffRecord]:
        keys = [self._prefix + "rec:" + sid for sid in sids]
        if not keys:
            return []
        values: list[Any] = await self._redis.mget(keys)
        return [HandoffRecord.model_validate_json(v) for v in values if v is not None]

    # Deciding --------------------------------------------------------------------------------

    async def route(self, record: HandoffRecord, roster: Roster, now: float) -> Routed:
        found = await self._run(self._route, roster, now, record.model_dump_json())
        routed = _record(found)
        assert routed is not None
        return Routed(routed, found.get("position"), assigned=_records(found.get("changed")))

    async def assign(self, record: HandoffRecord, agent: str, roster: Roster, now: float) -> Routed:
        found = await self._run(
            self._assign, roster, now, record.model_dump_json(), agent, self._key(agent)
        )
        given = _record(found)
        assert given is not None
        return Routed(
            given,
            left_position=found.get("left_position"),
            assigned=_records(found.get("changed")),
        )

    async def release(
        self, conversation_sid: str, roster: Roster, now: float, *, to_bot: bool
    ) -> Released | None:
        flag = "1" if to_bot else "0"
        found = await self._run(self._release, roster, now, conversation_sid, flag)
        record = _record(found)
        if record is None:
            return None
        return Released(record, found.get("left_position"), _records(found.get("changed")))

    async def take(self, agent: str, roster: Roster, now: float) -> HandoffRecord | None:
        return _record(await self._run(self._take, roster, now, agent))

    async def set_presence(
        self, agent: str, presence: Presence, roster: Roster, now: float
    ) -> tuple[HandoffRecord, ...]:
        found = await self._run(self._presence, roster, now, agent, self._key(agent), presence)
        return _records(found.get("changed"))

    async def transfer(
        self,
        conversation_sid: str,
        roster: Roster,
        now: float,
        *,
        agent: str | None = None,
        skill: str | None = None,
    ) -> Transferred:
        found = await self._run(
            self._transfer, roster, now, conversation_sid, agent or "", skill or ""
        )
        refusal: Refusal | None = found.get("refusal")
        return Transferred(
            _record(found),
            refusal,
            found.get("position"),
            _records(found.get("changed")),
        )

    async def mark_replied(self, conversation_sid: str, author: str, now: float) -> float | None:
        found = await self._run(self._mark_replied, Roster(), now, conversation_sid, author)
        waited = found.get("waited")
        return None if waited is None else float(waited)
