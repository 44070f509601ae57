"""StatusStore on Redis: one hash per message SID; the forward-only check and the write are one
Lua script, so two callbacks handled at once by two processes cannot move a status backwards."""

from __future__ import annotations

from typing import Any

from botkit.core.person import Found, Person
from botkit.core.redis_client import RedisClient
from botkit.core.units import milliseconds
from botkit.outbound.statuses.protocol import (
    STATUS_TTL,
    StatusChange,
    StatusRecord,
    erase_statuses,
    export_statuses,
)
from botkit.twilio.status import MessageStatus, forward_from, parse_status

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


class RedisStatusStore:
    """StatusStore on Redis: one hash per message, ``{prefix}:status:{<MessageSid>}``, with
    fields status, previous, error_code and at, expiring ``ttl`` after its last move.

    MessageSids are unique across Twilio, so the keys are not namespaced by bot: the outbound worker
    and operators' commands find a message's status by its SID alone.
    """

    def __init__(self, redis: RedisClient, prefix: str = "botkit", ttl: float = STATUS_TTL) -> None:
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
            milliseconds(self._ttl),
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


    async def forget(self, sid: str) -> bool:
        return bool(await self._redis.delete(self._key(sid)))

    async def export_person(self, person: Person) -> Found:
        return await export_statuses(self, person)

    async def erase_person(self, person: Person) -> int:
        return await erase_statuses(self, person)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _status(value: Any) -> MessageStatus | None:
    text = _text(value) if value is not None else ""
    return parse_status(text) if text else None


def _int(value: Any) -> int | None:
    text = _text(value) if value is not None else ""
    return int(text) if text else None


