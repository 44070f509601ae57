"""Arming timers for a person: ``ctx.remind`` and ``bot.schedule`` both come through here, so
the rules (a known intent, a time in the future, how a timer is named) are decided once.

A timer named by a ``key`` is one per person: arming it again replaces it (the cart reminder
re-armed on every change), and ``cancel`` finds it by the key. Its id is the person's
pepper-HMAC and the key, never their number. A timer without a key armed by a handler is
named by the event and its position, so a handler re-run after a crash arms the same timer
again rather than a second one.
"""

from __future__ import annotations

import json
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
            person = str(parse_address(sender))
        except ValueError as exc:
            raise SendError(f"cannot schedule for {sender!r}: {exc}") from None
        try:
            bot = str(parse_address(recipient))
        except ValueError as exc:
            raise SendError(f"cannot schedule from {recipient!r}: {exc}") from None
        timer_id = self.timer_id(person, key) if key else default_id or uuid.uuid4().hex
        timer = Timer(
            id=timer_id,
            due=due,
            intent=intent,
            sender=person,
            recipient=bot,
            messaging_service_sid=messaging_service_sid,
            data=_as_json(data),
            every=period,
        )
        await self.store.add(timer)
        return timer_id

    async def cancel(self, timer_id: str) -> bool:
        return await self.store.cancel(timer_id)


def _as_json(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """``data`` as the handler will find it: stored as JSON in Redis, so in memory too (the
    twins must not differ), and refused here, not when Redis is written to, if it is not."""
    try:
        loaded: dict[str, Any] = json.loads(json.dumps(dict(data or {})))
    except (TypeError, ValueError) as exc:
        raise SendError(f"data= must be JSON (strings, numbers, lists, dicts): {exc}") from None
    return loaded


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
