"""The TimerStore protocol: timers that survive restarts and fire once across processes.

A timer names a person (the address they write from and the bot address they write to), the
intent whose handler runs for them, when (on the rule clock, botkit.core.clock, so the testing
kit's clock moves timers like every other rule) and, for a recurring one, how often.

Firing is taken in two steps so that nothing is lost and nothing runs twice. ``take_due``
leases due timers atomically: the one process that took a timer holds it for ``lease``
seconds, after which it is due again (the process died). The taker queues the timer's event in
the inbound queue, deduplicated on the timer's id, revision and occurrence, and then calls
``done``, which removes a one-off timer or moves a recurring one to its next occurrence. A
process that dies in between leaves the timer to be taken again; the inbound queue drops the
repeat. ``done`` and ``cancel`` act only on the revision that was taken: a timer replaced
meanwhile (the same key armed again) is left as it now is.

A timer holds its person's address while it is armed, and loses it when it fires for the last
time or is cancelled; ``botkit privacy`` exports and disarms a person's timers.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from botkit.core.person import Found, Person


class Timer(BaseModel):
    """One timer. ``id``: chosen by the caller (a reminder's key makes it per person), unique
    in the bot. ``rev``: this arming of it (a timer armed again with the same id is a new rev).
    ``due``: rule-clock seconds since the epoch. ``every``: seconds between occurrences of a
    recurring timer (None: once)."""

    model_config = ConfigDict(frozen=True)

    id: str
    due: float
    intent: str
    sender: str
    recipient: str
    messaging_service_sid: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    every: float | None = None
    occurrence: int = 0
    rev: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])

    def following(self, now: float) -> Timer | None:
        """The next occurrence of a recurring timer (occurrences missed while nothing ran are
        skipped: one reminder, not a burst); None for a one-off."""
        if self.every is None:
            return None
        steps = max(1, math.floor((now - self.due) / self.every) + 1)
        return self.model_copy(
            update={"due": self.due + steps * self.every, "occurrence": self.occurrence + 1}
        )


class TimerStore(Protocol):
    async def add(self, timer: Timer) -> None:
        """Arm ``timer``, replacing any timer with its id (and that timer's lease)."""

    async def cancel(self, timer_id: str) -> bool:
        """Disarm; False if there was no such timer. An occurrence already queued still runs."""

    async def get(self, timer_id: str) -> Timer | None: ...

    async def take_due(self, now: float, limit: int, lease: float) -> list[Timer]:
        """Up to ``limit`` timers due by ``now``, each leased to the caller until now + lease."""

    async def done(self, timer: Timer, following: Timer | None) -> None:
        """``timer`` (as taken) has fired: remove it, or re-arm it as ``following``, unless it
        was cancelled or replaced meanwhile."""

    async def pending(self) -> int:
        """Timers armed (leased ones included)."""

    async def export_person(self, person: Person) -> Found:
        """The timers armed for ``person`` (a reminder to them, a scheduled turn of theirs)."""

    async def erase_person(self, person: Person) -> int:
        """Disarm them; how many there were."""


def is_theirs(timer: Timer, person: Person) -> bool:
    """Whether ``timer`` runs a turn of ``person``'s (either of its addresses is theirs)."""
    return person.is_address(timer.sender) or person.is_address(timer.recipient)


def timer_rows(timers: Iterable[Timer], person: Person) -> Found:
    """What an export shows of the person's timers."""
    ordered = sorted(timers, key=lambda t: t.id)
    return [t.model_dump(mode="json") for t in ordered if is_theirs(t, person)]
