"""StatusStore in a dict, for one process (development, tests): the same forward-only rule and
expiry as the Redis store, and the same contract tests."""

from __future__ import annotations

import time
from collections import OrderedDict

from botkit.core.person import Found, Person
from botkit.outbound.statuses.protocol import (
    STATUS_TTL,
    StatusChange,
    StatusRecord,
    erase_statuses,
    export_statuses,
)
from botkit.twilio.status import MessageStatus, is_forward


class MemoryStatusStore:
    """StatusStore in an ordered dict; records expire like the Redis hashes (TTL renewed by
    each move), so a long-running development bot does not keep every status forever."""

    def __init__(self, ttl: float = STATUS_TTL) -> None:
        self._ttl = ttl
        self._records: OrderedDict[str, tuple[StatusRecord, float]] = OrderedDict()

    async def advance(
        self, sid: str, status: MessageStatus, error_code: int | None, at: float
    ) -> StatusChange | None:
        now = time.monotonic()
        self._expire(now)
        held = self._records.get(sid)
        current = held[0] if held is not None else None
        if current is not None and current.status == status and current.at == at:
            return StatusChange(sid, current.previous, status, current.error_code, at)
        old = current.status if current is not None else None
        if not is_forward(old, status):
            return None
        self._records[sid] = (StatusRecord(sid, status, old, error_code, at), now + self._ttl)
        self._records.move_to_end(sid)
        return StatusChange(sid, old, status, error_code, at)

    async def get(self, sid: str) -> StatusRecord | None:
        self._expire(time.monotonic())
        held = self._records.get(sid)
        return held[0] if held is not None else None

    async def forget(self, sid: str) -> bool:
        return self._records.pop(sid, None) is not None

    async def export_person(self, person: Person) -> Found:
        return await export_statuses(self, person)

    async def erase_person(self, person: Person) -> int:
        return await erase_statuses(self, person)

    def _expire(self, now: float) -> None:
        # Each move re-inserts its record at the end with one TTL: the front expires first.
        while self._records:
            sid, (_, expires) = next(iter(self._records.items()))
            if expires > now:
                break
            del self._records[sid]


