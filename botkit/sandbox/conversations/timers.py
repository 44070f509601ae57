"""Conversation timers: Timers.Inactive and Timers.Closed as ISO 8601 durations.

Both count from the conversation's last activity (creation, a new message, an update that sets
them): after Timers.Inactive an active conversation turns inactive, after Timers.Closed it closes
for good. Twilio enforces minimums (1 minute and 10 minutes); the sandbox does not, so tests can
watch a timer fire.

The timer tasks are kept apart from Delivery's tasks on purpose: ``Sandbox.settle()`` waits for
every delivery task, and must not wait ten minutes for a conversation to close.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botkit.sandbox.conversations.errors import invalid
from botkit.sandbox.conversations.models import ConversationRecord, now

_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(raw: str, name: str) -> timedelta:
    """``PT10M``, ``P1DT2H``, ``PT0.5S``... (weeks, days, hours, minutes, seconds)."""
    match = _DURATION.match(raw.strip().upper())
    if match is None or raw.strip().upper() in ("P", "PT") or raw.strip().upper().endswith("T"):
        raise invalid(f"{name} must be an ISO 8601 duration such as PT10M, not {raw!r}")
    parts = {key: float(value) for key, value in match.groupdict().items() if value}
    return timedelta(**parts)


def restart(conversation: ConversationRecord, at: datetime | None = None) -> None:
    """Count both timers again from ``at`` (default now), as activity does."""
    moment = at or now()
    active = conversation.state == "active"
    conversation.date_inactive = (
        moment + conversation.timer_inactive
        if conversation.timer_inactive is not None and active
        else None
    )
    conversation.date_closed = (
        moment + conversation.timer_closed
        if conversation.timer_closed is not None and conversation.state != "closed"
        else None
    )


def due_state(conversation: ConversationRecord, moment: datetime) -> str | None:
    """The state a timer moves the conversation to at ``moment``, if one is due."""
    closed_due = conversation.date_closed is not None and moment >= conversation.date_closed
    if conversation.state != "closed" and closed_due:
        return "closed"
    inactive_due = conversation.date_inactive is not None and moment >= conversation.date_inactive
    if conversation.state == "active" and inactive_due:
        return "inactive"
    return None


class ConversationTimers:
    """One sleeping task per conversation with a timer running; ``fire(sid)`` when one is due."""

    def __init__(self, fire: Callable[[str], None]) -> None:
        self._fire = fire
        self._tasks: dict[str, asyncio.Task[Any]] = {}

    def schedule(self, conversation: ConversationRecord) -> None:
        self.cancel(conversation.sid)
        candidates = [
            moment
            for moment, applies in (
                (conversation.date_inactive, conversation.state == "active"),
                (conversation.date_closed, conversation.state != "closed"),
            )
            if moment is not None and applies
        ]
        if not candidates:
            return
        delay = max(0.0, (min(candidates) - now()).total_seconds())
        self._tasks[conversation.sid] = asyncio.create_task(self._wait(conversation.sid, delay))

    async def _wait(self, sid: str, delay: float) -> None:
        await asyncio.sleep(delay)
        self._tasks.pop(sid, None)
        self._fire(sid)

    def cancel(self, sid: str) -> None:
        task = self._tasks.pop(sid, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
