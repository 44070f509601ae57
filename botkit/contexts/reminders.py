"""Arming timers for a person: ``ctx.remind`` and ``bot.schedule`` both come through here, so
the rules (a known intent, a time in the future, how a timer is named) are decided once.

A timer named by a ``key`` is one per person: arming it again replaces it (the cart reminder
re-armed on every change), and ``cancel`` finds it by the key. Its id is the person's
pepper-HMAC and the key, never their number. A timer without a key armed by a handler is
named by the event and its position, so a handler re-run after a crash arms the same timer
again rather than a second one.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from botkit.compliance.hashing import NumberHasher
from botkit.core import clock
from botkit.errors import SendError
from botkit.timers.protocol import Timer, TimerStore
from botkit.twilio.address import parse_address

#: The shortest interval of a recurring timer: its handler runs for a person, who must not be
#: texted every few seconds by a typo.
MIN_EVERY = 60.0


class Reminders:
    def __init__(self, store: TimerStore, hasher: NumberHasher, intents: Collection[str]) -> None:
        self.store = store
        self.hasher = hasher
        self.intents = frozenset(intents)

    def timer_id(self, sender: str, key: str) -> str:
        return f"{self.hasher.digest(sender)[:32]}:{key}"

    async def arm(
        self,
        *,
        sender: str,
        recipient: str,
        intent: str,
        at: datetime | None = None,
        in_: timedelta | None = None,
        every: timedelta | None = None,
        key: str | None = None,
        data: Mapping[str, Any] | None = None,
        messaging_service_sid: str | None = None,
        default_id: str | None = None,
    ) -> str:
        """Arm a timer; its id. One of ``at`` (aware) and ``in_`` says when it first fires."""
        if intent not in self.intents:
            known = ", ".join(sorted(self.intents)) or "none"
            raise SendError(f"no intent named {intent!r} to run later (intents: {known})")
        due = _due(at, in_)
        period = None
        if every is not None:
            period = every.total_seconds()
            if period < MIN_EVERY:
                raise SendError(f"every= must be at least {MIN_EVERY:.0f} seconds")
        try:
            person, bot = str(parse_address(sender)), str(parse_address(recipient))
        except ValueError as exc:
            raise SendError(f"cannot schedule for {sender!r}: {exc}") from None
        timer_id = self.timer_id(person, key) if key else default_id or uuid.uuid4().hex
        timer = Timer(
            id=timer_id,
            due=due,
            intent=intent,
            sender=person,
            recipient=bot,
            messaging_service_sid=messaging_service_sid,
            data=dict(data or {}),
            every=period,
        )
        await self.store.add(timer)
        return timer_id

    async def cancel(self, timer_id: str) -> bool:
        return await self.store.cancel(timer_id)


def _due(at: datetime | None, in_: timedelta | None) -> float:
    if (at is None) == (in_ is None):
        raise SendError("say when: give exactly one of at= (a datetime) or in_= (a timedelta)")
    if in_ is not None:
        return clock.now() + in_.total_seconds()
    assert at is not None
    if at.tzinfo is None:
        raise SendError(
            f"at={at.isoformat()} has no time zone: give an aware datetime (tzinfo=...)"
        )
    return at.timestamp()
