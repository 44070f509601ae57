"""The one-time re-key of the handoff's agent keys (issue 18), a part of ``botkit privacy
migrate``.

Before, an agent was named in keys by their identity, which is often their phone number. Each
such key or field moves to the agent's pseudonym ``A`` (``NumberHasher.pseudonym``):

- ``{ns:handoff}:held:<agent>``, the conversations they hold: each one whose record still
  names them moves to ``held:<A>``, and its record gets ``agent_key`` (what the handoff scripts
  find the agent's held set by); one script in the bot's slot per agent, so a live bot's steps
  never see half of it moved;
- the field ``<agent>`` of ``{ns:handoff}:presence``: moved to the field ``<A>``, unless the
  upgraded bot already wrote one there (that one is newer);
- ``{ns:history:agent:<agent>}:log`` and ``:seq``, what the agent was told: moved with their
  remaining lifetime to ``{ns:history:agent:<A>}``, each entry without its ``author`` (the
  agent, named again). If the upgraded bot has told the agent something already, the old
  thread is dropped instead: notices are what the desk shows as they come.

A key or field already named by a pseudonym is left alone, so the migration can run any number
of times, beside a live bot, and counts only what it changed. A notice told by a bot of the old
version between the read and the delete of its thread is lost: run the migration once every
process runs the new version.
"""

from __future__ import annotations

from typing import Any

from botkit.core.person import Pseudonym, is_pseudonym
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys
from botkit.handoff.history.protocol import HistoryEntry, agent_thread
from botkit.handoff.history.redis import thread_keys
from botkit.handoff.store.redis import key_prefix

# KEYS: the old held set, the new one, then the record of each SID in ARGV. ARGV: the agent,
# their pseudonym, then the SIDs read from the old set. Each SID still in the old set whose
# record names the agent moves; the old set goes when it empties. How many SIDs moved.
_HELD = """
local agent, key = ARGV[1], ARGV[2]
local moved = 0
for i = 3, #ARGV do
  local sid = ARGV[i]
  if redis.call('SREM', KEYS[1], sid) == 1 then
    local raw = redis.call('GET', KEYS[i])
    if raw then
      local rec = cjson.decode(raw)
      if rec.agent == agent then
        rec.agent_key = key
        redis.call('SET', KEYS[i], cjson.encode(rec), 'KEEPTTL')
        redis.call('SADD', KEYS[2], sid)
        moved = moved + 1
      end
    end
  end
end
return moved
"""

# KEYS: the presence hash. ARGV: the old field, the pseudonym. 1 if the old field was there.
_PRESENCE = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return 0 end
redis.call('HSETNX', KEYS[1], ARGV[2], value)
redis.call('HDEL', KEYS[1], ARGV[1])
return 1
"""

# KEYS: the new thread's log and counter. ARGV: lifetime in ms (0: none), the counter, then the
# entries. Written only if the thread is not there yet; 1 if written.
_THREAD = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[2])
local ttl = tonumber(ARGV[1])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 1
"""


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class AgentRekey:
    """The agent keys of the bot ``namespace``, moved to their pseudonyms."""

    def __init__(self, redis: RedisClient, namespace: str, pseudonym: Pseudonym) -> None:
        self._redis = redis
        self._namespace = namespace
        self._pseudonym = pseudonym
        self._prefix = key_prefix(namespace)
        self._held = redis.register_script(_HELD)
        self._presence = redis.register_script(_PRESENCE)
        self._thread = redis.register_script(_THREAD)

    async def run(self) -> dict[str, int]:
        """How many held conversations, presence fields and notice threads moved."""
        return {
            "handoff_held": await self.held(),
            "handoff_presence": await self.presences(),
            "agent_notices": await self.notices(),
        }

    async def held(self) -> int:
        head = self._prefix + "held:"
        moved = 0
        for old in await scan_keys(self._redis, glob_escape(head) + "*"):
            agent = old.removeprefix(head)
            if is_pseudonym(agent):
                continue
            sids = sorted(_text(sid) for sid in await self._redis.smembers(old))
            records = [self._prefix + "rec:" + sid for sid in sids]
            keys = [old, head + self._pseudonym(agent), *records]
            moved += int(await self._held(keys=keys, args=[agent, self._pseudonym(agent), *sids]))
        return moved

    async def presences(self) -> int:
        hash_key = self._prefix + "presence"
        fields: list[Any] = await self._redis.hkeys(hash_key)
        moved = 0
        for agent in map(_text, fields):
            if not is_pseudonym(agent):
                args = [agent, self._pseudonym(agent)]
                moved += int(await self._presence(keys=[hash_key], args=args))
        return moved

    async def notices(self) -> int:
        head = "{" + f"{self._namespace}:history:{agent_thread('')}"
        moved = 0
        for log in await scan_keys(self._redis, glob_escape(head) + "*}:log"):
            agent = log.removeprefix(head).removesuffix("}:log")
            if not is_pseudonym(agent):
                moved += await self._move_thread(agent)
        return moved

    async def _move_thread(self, agent: str) -> int:
        """The agent's old thread, moved (or dropped for a newer one); 1 if there was one."""
        old = thread_keys(self._namespace, agent_thread(agent))
        new = thread_keys(self._namespace, agent_thread(self._pseudonym(agent)))
        stored: list[Any] = await self._redis.lrange(old[0], 0, -1)
        if not stored:
            return 0
        entries = [
            HistoryEntry.model_validate_json(raw).model_copy(update={"author": None})
            for raw in stored
        ]
        counter = await self._redis.get(old[1])
        left = int(await self._redis.pttl(old[0]))
        args: list[Any] = [max(left, 0), _text(counter) if counter else entries[-1].index]
        args.extend(entry.model_dump_json() for entry in entries)
        await self._thread(keys=list(new), args=args)
        await self._redis.delete(*old)  # one slot: the old thread's tag
        return 1
