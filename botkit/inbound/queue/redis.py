"""InboundQueue on Redis streams, one per shard (botkit/sessions/shards.py), each with one
consumer group.

Three scripts, one round trip each, carry a 1:1 message from webhook to saved session:

- accept: the dedup marker and the XADD (with the session key beside the payload) in one step,
  and a PUBLISH that wakes an idle worker;
- take: XREADGROUP, and for every entry that names a session, its lock taken and its data
  loaded (the session lives in the stream's slot);
- finish: the session saved and unlocked, the entry acknowledged and deleted, and the replies
  the handler held queued in the same round trip (on one server: the outbound queue's enqueue
  scripts go first in one pipeline, and finish checks that each left its idempotency key before
  it acknowledges anything; on a cluster, whose pipelines run by node in no order, the replies
  are queued first, one round trip each).

An idle worker waits for the accept script's notification on a pub/sub connection, which costs
no round trip, instead of blocking in XREADGROUP (a blocked read delivers entries before their
sessions could be locked). A notification can be lost (a reconnect), so a waiting worker also
looks again every ``wait`` seconds. Entries a crashed consumer left unfinished are reclaimed
with XAUTOCLAIM, without their sessions: their handler takes the lock the usual way.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from botkit.core.redis_client import Durability, RedisClient, run_durably, run_in_one_trip
from botkit.core.script_call import ScriptCall
from botkit.core.units import milliseconds
from botkit.core.wake import ShardWakes
from botkit.inbound.queue.protocol import (
    NONE,
    Delivery,
    RepliesNotQueued,
    release_unsaved,
)
from botkit.outbound.held_outbox import HeldReplies
from botkit.sessions.protocol import SessionSave
from botkit.sessions.redis import SESSION_LUA, RedisSessionStore, loaded, save_args

# KEYS: dedup marker, stream. ARGV: ttl ms, payload, session key ('' for none), wake channel.
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  if ARGV[3] == '' then
    redis.call('XADD', KEYS[2], '*', 'p', ARGV[2])
  else
    redis.call('XADD', KEYS[2], '*', 'p', ARGV[2], 'k', ARGV[3])
  end
  redis.call('PUBLISH', ARGV[4], '1')
  return 1
end
return 0
"""

# KEYS: stream. ARGV: group, consumer, count, token prefix, lease ms, the shard's tag.
# Returns {id, payload, acquired (1/0, -1: no session), data, expiry} per entry.
_TAKE = SESSION_LUA + """
local read = redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
  'STREAMS', KEYS[1], '>')
if not read then return {} end
local taken = {}
for _, entry in ipairs(read[1][2]) do
  local id, fields, payload, key = entry[1], entry[2], '', nil
  for i = 1, #fields, 2 do
    if fields[i] == 'p' then payload = fields[i + 1] elseif fields[i] == 'k' then
      key = fields[i + 1]
    end
  end
  local got = {-1, false, false}
  if key then
    local tag = ARGV[6]
    got = botkit_session_acquire(tag .. ':lock:' .. key, tag .. ':session:' .. key,
      tag .. ':session-expires:' .. key, ARGV[4] .. id, ARGV[5])
  end
  taken[#taken + 1] = {id, payload, key or false, got[1], got[2], got[3]}
end
return taken
"""

# KEYS: stream [, session lock, data, expiry], then proofs. ARGV: group, id, the number of
# proofs [, save args]. Returns 1 saved (or nothing to save), 0 the session's lock was lost, -1
# a proof is missing (a reply queued in the same round trip was not: nothing done).
_FINISH = SESSION_LUA + """
local proofs = tonumber(ARGV[3])
for i = #KEYS - proofs + 1, #KEYS do
  if not redis.call('GET', KEYS[i]) then return -1 end
end
local saved = 1
if #KEYS - proofs > 1 then
  saved = botkit_session_save(KEYS[2], KEYS[3], KEYS[4], ARGV[4], ARGV[5], ARGV[6], ARGV[7],
    ARGV[8])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return saved
"""


class RedisInboundQueue:
    """InboundQueue on one Redis stream per shard; finished entries are deleted."""

    GROUP = "workers"

    def __init__(
        self,
        redis: RedisClient,
        sessions: RedisSessionStore,
        *,
        durability: Durability | None = None,
    ) -> None:
        """durability: how many replicas an accepted event must reach before the accept
        returns (Redis WAIT): a 200 for an event only on a master that then dies would be a
        lie."""
        self._redis = redis
        self._durability = durability
        self._sessions = sessions
        self.shards = shards = sessions.shards
        self._streams = [f"{shards.tag(s)}:stream" for s in range(shards.count)]
        # One channel per shard, so that a worker woken by an accept asks that shard alone.
        self._wake_channels = [f"{shards.tag(s)}:wake" for s in range(shards.count)]
        self._accept = redis.register_script(_ACCEPT)
        self._take = redis.register_script(_TAKE)
        self._finish = redis.register_script(_FINISH)
        self._wakes = ShardWakes(redis, self._wake_channels)

    async def prepare(self) -> None:
        """Create each consumer group from its stream's start, so nothing accepted is skipped."""
        for stream in self._streams:
            try:
                await self._redis.xgroup_create(stream, self.GROUP, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def accept(
        self, dedup_id: str, payload: str, dedup_ttl: float, session_key: str | None = None
    ) -> bool:
        shard = self.shards.of(session_key or dedup_id)
        keys = [f"{self.shards.tag(shard)}:seen:{dedup_id}", self._streams[shard]]
        args: list[str | int] = [
            milliseconds(dedup_ttl), payload, session_key or "", self._wake_channels[shard]
        ]
        accepted = await run_durably(self._redis, self._accept, keys, args, self._durability)
        return bool(accepted)

    async def take(
        self, consumer: str, count: int, wait: float, session_lease: float
    ) -> list[Delivery]:
        taken = await self._take_due(consumer, count, session_lease)
        if taken or wait <= 0:
            return taken
        # The shards were empty when last asked: wait for an accept's notification instead of
        # asking again for nothing. ShardWakes asks every shard anyway once a second, since a
        # notification can be lost (one published before this connection subscribed, or
        # during a reconnect).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            woken = await self._wakes.wait(deadline - loop.time())
            taken = await self._take_due(consumer, count, session_lease)
            # A notification can also come for work another worker took first: wait on.
            if taken or not woken or loop.time() >= deadline:
                return taken

    async def _take_due(self, consumer: str, count: int, lease: float) -> list[Delivery]:
        """From the shards that may have work (signalled, not emptied when last asked, or all
        of them once a second), starting at a rotating one so that none is starved."""
        taken: list[Delivery] = []
        for shard in await self._wakes.due():
            wanted = count - len(taken)
            found = await self._take_shard(shard, consumer, wanted, lease)
            self._wakes.found(shard, 0.0 if len(found) >= wanted else None)
            taken += found
            if len(taken) >= count:
                break
        return taken

    async def _take_shard(
        self, shard: int, consumer: str, count: int, lease: float
    ) -> list[Delivery]:
        token = f"{consumer}:"
        args: list[str | int] = [
            self.GROUP, consumer, count, token, milliseconds(lease), self.shards.tag(shard)
        ]
        reply: Any = await self._take(keys=[self._streams[shard]], args=args)
        deliveries = []
        for entry_id, payload, key, acquired, raw, expires in reply:
            ident = _text(entry_id)
            session = None
            if acquired == 1:
                session = loaded(_text(key), token + ident, raw, expires)
            delivery_id = f"{shard}/{ident}"
            deliveries.append(Delivery(id=delivery_id, payload=_text(payload), session=session))
        return deliveries

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        reclaimed: list[Delivery] = []
        for shard, stream in enumerate(self._streams):
            reply: Any = await self._redis.xautoclaim(
                stream, self.GROUP, consumer, min_idle_time=milliseconds(idle), count=count
            )
            reclaimed += [
                Delivery(id=f"{shard}/{_text(entry_id)}", payload=_payload(fields))
                for entry_id, fields in reply[1]
                if fields
            ]
        return reclaimed[:count]

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        shard, entry_id = _split(delivery.id)
        await self._redis.xclaim(
            self._streams[shard], self.GROUP, consumer, min_idle_time=0,
            message_ids=[entry_id], justid=True,
        )

    async def finish(
        self, delivery: Delivery, save: SessionSave | None = None, replies: HeldReplies = NONE
    ) -> bool:
        shard, entry_id = _split(delivery.id)
        keys = [self._streams[shard]]
        args: list[str | int] = [self.GROUP, entry_id]
        saved = True
        if save is not None and self.shards.of(save.lease.key) == shard:
            keys += self.shards.session_keys(save.lease.key)
            args += save_args(save)
        elif save is not None:  # another shard's session cannot share the script
            saved = await self._sessions.commit(save.lease, save.data, save.ttl)
        steps = replies.steps()
        try:
            if steps is not None and isinstance(self._redis, Redis):
                proofs = [step.proof for step in steps if step.proof]
                finish = ScriptCall(
                    self._finish, (*keys, *proofs), (args[0], args[1], len(proofs), *args[2:])
                )
                trip = await run_in_one_trip(self._redis, [*steps, finish], self._durability)
                done = trip[-1]
            else:
                await replies.enqueue()
                done = await self._finish(keys=keys, args=[args[0], args[1], 0, *args[2:]])
            if done == -1:
                raise RepliesNotQueued(f"{delivery.id}: a reply was not queued; left unfinished")
        except Exception:
            await release_unsaved(self._sessions, save)
            raise
        replies.written()
        return bool(done) and saved

    async def backlog(self) -> int:
        total = 0
        for stream in self._streams:
            total += int(await self._redis.xlen(stream))
        return total

    async def close(self) -> None:
        await self._wakes.close()


def _split(delivery_id: str) -> tuple[int, str]:
    shard, _, entry_id = delivery_id.partition("/")
    return int(shard), entry_id


def _payload(fields: dict[Any, Any]) -> str:
    return _text(fields.get(b"p", fields.get("p", b"")))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
