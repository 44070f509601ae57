"""InboundQueue on a Redis stream with one consumer group: acceptance (dedup marker + XADD) is
one Lua script, handled entries are acknowledged and deleted, and entries a crashed consumer left
unfinished are reclaimed with XAUTOCLAIM."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from botkit.core.units import milliseconds
from botkit.inbound.queue.protocol import Delivery

# KEYS: dedup marker, stream. ARGV: ttl ms, payload.
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'p', ARGV[2])
  return 1
end
return 0
"""


class RedisInboundQueue:
    """InboundQueue on a Redis stream with one consumer group; finished entries are deleted."""

    GROUP = "workers"

    def __init__(self, redis: Redis, namespace: str, prefix: str = "botkit") -> None:
        self._redis = redis
        tag = f"{{{prefix}:inbound:{namespace}}}"
        self._stream = f"{tag}:stream"
        self._seen = f"{tag}:seen:"
        self._accept = redis.register_script(_ACCEPT)

    async def prepare(self) -> None:
        """Create the consumer group from the stream's start, so nothing accepted is skipped."""
        try:
            await self._redis.xgroup_create(self._stream, self.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def accept(self, dedup_id: str, payload: str, dedup_ttl: float) -> bool:
        keys = [self._seen + dedup_id, self._stream]
        return bool(await self._accept(keys=keys, args=[milliseconds(dedup_ttl), payload]))

    async def take(self, consumer: str, count: int, wait: float) -> list[Delivery]:
        reply: Any = await self._redis.xreadgroup(
            self.GROUP, consumer, {self._stream: ">"}, count=count, block=milliseconds(wait)
        )
        if not reply:
            return []
        # RESP2 answers [[stream, entries]]; RESP3 answers {stream: [entries]}.
        entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
        return [self._delivery(entry_id, fields) for entry_id, fields in entries]

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        reply: Any = await self._redis.xautoclaim(
            self._stream, self.GROUP, consumer, min_idle_time=milliseconds(idle), count=count
        )
        entries = reply[1]
        return [self._delivery(entry_id, fields) for entry_id, fields in entries if fields]

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        await self._redis.xclaim(
            self._stream, self.GROUP, consumer, min_idle_time=0,
            message_ids=[delivery.id], justid=True,
        )

    async def finish(self, delivery: Delivery) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self.GROUP, delivery.id)
            pipe.xdel(self._stream, delivery.id)
            await pipe.execute()

    async def backlog(self) -> int:
        return int(await self._redis.xlen(self._stream))

    @staticmethod
    def _delivery(entry_id: Any, fields: dict[Any, Any]) -> Delivery:
        payload = fields.get(b"p", fields.get("p", b""))
        text = payload.decode() if isinstance(payload, bytes) else str(payload)
        ident = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        return Delivery(id=ident, payload=text)


