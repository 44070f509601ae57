"""Redis stores: sessions under token-owned lease locks, and the inbound queue as a stream.

Each entity's keys share a ``{hash tag}`` so that the Lua scripts touch a single slot and work
on Redis Cluster. Every operation is one round trip: the scripts exist to keep it that way.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from botkit import clock
from botkit.storage.inbound import Delivery
from botkit.storage.sessions import SessionLease, decode_session, encode_session
from botkit.storage.status import STATUS_TTL, StatusChange, StatusRecord
from botkit.twilio.status import MessageStatus, forward_from, parse_status

# KEYS: lock, data, expiry. ARGV: token, lease ms. Returns {acquired, data, expiry}.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3])}
end
return {0, false, false}
"""

# KEYS: lock. ARGV: token, lease ms.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lock, data, expiry. ARGV: token, save flag, data, ttl ms, expiry (botkit.clock seconds).
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[4])
end
redis.call('DEL', KEYS[1])
return 1
"""

# KEYS: dedup marker, stream. ARGV: ttl ms, payload.
_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'p', ARGV[2])
  return 1
end
return 0
"""

# KEYS: the message's status hash. ARGV: status, error code ('' for none), at, ttl ms, then
# every status this one is a forward move from (twilio/status.py decides; the script only
# looks the stored status up). Returns {applied, previous status or '', error code or ''}.
_ADVANCE = """
local current = redis.call('HMGET', KEYS[1], 'status', 'previous', 'error_code', 'at')
local old = current[1]
if old then
  if old == ARGV[1] and current[4] == ARGV[3] then
    return {1, current[2] or '', current[3] or ''}
  end
  local forward = false
  for i = 5, #ARGV do
    if ARGV[i] == old then forward = true break end
  end
  if not forward then return {0, old, ''} end
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'previous', old or '', 'error_code', ARGV[2],
  'at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, old or '', ARGV[2]}
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _past(expires: bytes | str | None) -> bool:
    """Whether a session-expires value lies in the past on botkit.clock (absent: no)."""
    if expires is None:
        return False
    try:
        return float(expires) <= clock.now()
    except ValueError:
        return False


class RedisSessionStore:
    """SessionStore on Redis. Keys: ``{prefix}:session:{<key>}``, ``...:lock:{<key>}`` and
    ``...:session-expires:{<key>}``.

    Redis expires a session by its own clock (PX), which keeps memory bounded. The lifetime is
    also a rule read on botkit.clock, so a test can move time past it: the expiry key holds the
    botkit.clock moment the session ends, and a session past it loads as empty. (A session saved
    before that key existed has none and lives by its PX alone.)
    """

    def __init__(self, redis: Redis, prefix: str = "botkit") -> None:
        self._redis = redis
        self._prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._commit = redis.register_script(_COMMIT)

    def _keys(self, key: str) -> list[str]:
        return [
            f"{self._prefix}:lock:{{{key}}}",
            f"{self._prefix}:session:{{{key}}}",
            f"{self._prefix}:session-expires:{{{key}}}",
        ]

    async def try_acquire(self, key: str, token: str, lease: float) -> SessionLease | None:
        acquired, raw, expires = await self._acquire(
            keys=self._keys(key), args=[token, _ms(lease)]
        )
        if not acquired:
            return None
        data = {} if _past(expires) else decode_session(raw)
        return SessionLease(key=key, token=token, data=data)

    async def renew(self, lease: SessionLease, seconds: float) -> bool:
        lock = self._keys(lease.key)[0]
        return bool(await self._renew(keys=[lock], args=[lease.token, _ms(seconds)]))

    async def commit(self, lease: SessionLease, data: dict[str, Any] | None, ttl: float) -> bool:
        args = [lease.token, "0" if data is None else "1", "", _ms(ttl), repr(clock.now() + ttl)]
        if data is not None:
            args[2] = encode_session(data)
        return bool(await self._commit(keys=self._keys(lease.key), args=args))

    async def get(self, key: str) -> dict[str, Any] | None:
        raw, expires = await self._redis.mget(self._keys(key)[1:])
        return None if raw is None or _past(expires) else decode_session(raw)


class RedisInboundQueue:
    """InboundQueue on a Redis stream with one consumer group; finished entries are deleted."""

    GROUP = "workers"

    def __init__(self, redis: Redis, namespace: str, prefix: str = "botkit") -> None:
        self._redis = redis
        tag = f"{{{prefix}:inbound:{namespace}}}"
        self._stream = f"{tag}:stream"
        self._seen = f"{tag}:seen:"
        self._accept = redis.register_script(_ACCEPT)

    async def ensure_group(self) -> None:
        """Create the consumer group from the stream's start, so nothing accepted is skipped."""
        try:
            await self._redis.xgroup_create(self._stream, self.GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def accept(self, dedup_id: str, payload: str, dedup_ttl: float) -> bool:
        keys = [self._seen + dedup_id, self._stream]
        return bool(await self._accept(keys=keys, args=[_ms(dedup_ttl), payload]))

    async def take(self, consumer: str, count: int, wait: float) -> list[Delivery]:
        reply: Any = await self._redis.xreadgroup(
            self.GROUP, consumer, {self._stream: ">"}, count=count, block=_ms(wait)
        )
        if not reply:
            return []
        # RESP2 answers [[stream, entries]]; RESP3 answers {stream: [entries]}.
        entries = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
        return [self._delivery(entry_id, fields) for entry_id, fields in entries]

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        reply: Any = await self._redis.xautoclaim(
            self._stream, self.GROUP, consumer, min_idle_time=_ms(idle), count=count
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


class RedisStatusStore:
    """StatusStore on Redis: one hash per message, ``{prefix}:status:{<MessageSid>}``, with
    fields status, previous, error_code and at, expiring ``ttl`` after its last move.

    MessageSids are unique across Twilio, so the keys are not namespaced by bot: the dispatcher
    and operators' commands find a message's status by its SID alone.
    """

    def __init__(self, redis: Redis, prefix: str = "botkit", ttl: float = STATUS_TTL) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ttl = ttl
        self._advance = redis.register_script(_ADVANCE)

    def _key(self, sid: str) -> str:
        return f"{self._prefix}:status:{{{sid}}}"

    async def advance(
        self, sid: str, status: MessageStatus, error_code: int | None, at: float
    ) -> StatusChange | None:
        args: list[str | int] = [
            status,
            "" if error_code is None else str(error_code),
            repr(at),
            _ms(self._ttl),
            *sorted(forward_from(status)),
        ]
        applied, old, error = await self._advance(keys=[self._key(sid)], args=args)
        if not applied:
            return None
        return StatusChange(sid, _status(old), status, _int(error), at)

    async def get(self, sid: str) -> StatusRecord | None:
        raw: dict[Any, Any] = await self._redis.hgetall(self._key(sid))
        fields = {_text(k): _text(v) for k, v in raw.items()}
        status = _status(fields.get("status"))
        if status is None:
            return None
        return StatusRecord(
            sid=sid,
            status=status,
            previous=_status(fields.get("previous")),
            error_code=_int(fields.get("error_code")),
            at=float(fields.get("at") or 0.0),
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _status(value: Any) -> MessageStatus | None:
    text = _text(value) if value is not None else ""
    return parse_status(text) if text else None


def _int(value: Any) -> int | None:
    text = _text(value) if value is not None else ""
    return int(text) if text else None
