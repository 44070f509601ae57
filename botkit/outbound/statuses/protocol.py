"""The StatusStore protocol: each message's latest status, moved forward only (promise 8).

Checking the rank and writing the new status is one atomic step, because two callbacks for one
message can be handled at once by two processes: read-then-write would let the later-arriving
``sent`` overwrite the ``delivered`` another process had just stored.

``advance`` is also idempotent for one event. The status endpoint stamps each accepted callback
with the time it arrived (``at``), and a worker that crashed after advancing but before running
the hooks will advance again with the same ``(status, at)`` when the event is reclaimed: the
store answers the same change again rather than None, so the hooks still run (at least once).
A genuine duplicate from Twilio arrives at another time and gets None.

Records expire (7 days by default, BOTKIT_STATUS_RETENTION, renewed by each move): a status is
interesting while a message is in flight and for a while after, not forever. A record holds a
SID and a status, nothing that names a person; a person's are found by the SIDs of the messages
sent to them (``Person.messages``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from botkit.core.person import Found, Person
from botkit.twilio.status import MessageStatus

#: How long a message's status is kept after its last move.
STATUS_TTL = 7 * 24 * 3600.0


@dataclass(frozen=True)
class StatusChange:
    """A forward move: ``old`` is None when this is the first status seen for the message."""

    sid: str
    old: MessageStatus | None
    new: MessageStatus
    error_code: int | None
    at: float


@dataclass(frozen=True)
class StatusRecord:
    """What a store knows of a message: its status, the one before, and when it moved."""

    sid: str
    status: MessageStatus
    previous: MessageStatus | None
    error_code: int | None
    at: float


class StatusStore(Protocol):
    async def advance(
        self, sid: str, status: MessageStatus, error_code: int | None, at: float
    ) -> StatusChange | None:
        """Move sid to status if that is forward; the change, or None if stale or a duplicate.

        ``at`` is a Unix time. Re-applying the move that set the current status with the same
        ``at`` answers that change again (see the module docstring).
        """

    async def get(self, sid: str) -> StatusRecord | None:
        """The message's current status, or None if unknown (never seen, or expired)."""

    async def forget(self, sid: str) -> bool:
        """Drop the message's record; True if there was one."""

    async def export_person(self, person: Person) -> Found:
        """The records of the messages sent to ``person`` (``person.messages``)."""

    async def erase_person(self, person: Person) -> int:
        """Drop them; how many there were."""


async def export_statuses(store: StatusStore, person: Person) -> Found:
    """What both stores' ``export_person`` answer: the records of ``person.messages``."""
    found = []
    for sid in person.messages:
        record = await store.get(sid)
        if record is not None:
            found.append(
                {"sid": sid, "status": record.status, "previous": record.previous,
                 "error_code": record.error_code, "at": record.at}
            )
    return found


async def erase_statuses(store: StatusStore, person: Person) -> int:
    return sum([int(await store.forget(sid)) for sid in person.messages])
