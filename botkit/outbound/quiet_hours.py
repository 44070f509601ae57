"""Quiet hours: bulk sends wait for daytime in the recipient's own time zone.

The zone comes from the number (``phonenumbers`` knows which zones a number's prefix covers).
A number spanning several zones (most of the US +1 range maps to one area code, but some
prefixes are ambiguous) is treated conservatively: the send waits until it is daytime in all of
them, so nobody is texted at night because of a guess.

Whether it is night is a rule, read on botkit.core.clock (tests set it to 23:00); how long to wait
is handed to the outbound queue, which keeps real time (Redis' clock), as a duration from now.
"""

from __future__ import annotations

import time as wall
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as number_timezones
from pydantic import BaseModel, ConfigDict, Field

from botkit.core import clock


class QuietHours(BaseModel):
    """No bulk sends between ``start`` and ``end`` local time (the window may cross midnight)."""

    model_config = ConfigDict(frozen=True)

    start: time = Field(time(21, 0), description="Start, in the recipient's local time.")
    end: time = Field(time(8, 0), description="End, in the same local time (may be the next day).")
    apply_to_replies: bool = Field(
        False, description="Also hold replies to users, not only bulk (proactive) sends."
    )

    def quiet_at(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def held_until_us(self, number: str) -> int | None:
        """None when a send to ``number`` may go now; else when the queue should try it again,
        in microseconds since the epoch of real time (the queue's clock)."""
        moment = clock.now()
        until = self.next_allowed(number, datetime.fromtimestamp(moment, UTC))
        if until is None:
            return None
        return int((wall.time() + until.timestamp() - moment) * 1_000_000)

    def next_allowed(self, number: str, now: datetime) -> datetime | None:
        """None when the send may go now; else the first moment it is daytime in every zone."""
        zones = zones_of(number)
        latest: datetime | None = None
        for zone in zones:
            local = now.astimezone(zone)
            if not self.quiet_at(local.time()):
                continue
            end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
            if end <= local:
                end += timedelta(days=1)
            if latest is None or end > latest:
                latest = end
        return latest


def zones_of(number: str) -> list[ZoneInfo]:
    """The time zones of a number: its prefix's, else its country's, else UTC."""
    bare = number.removeprefix("whatsapp:")
    try:
        parsed = phonenumbers.parse(bare, None)
    except phonenumbers.NumberParseException:
        return [ZoneInfo("UTC")]
    names = [
        n
        for n in number_timezones.time_zones_for_number(parsed)
        if n != number_timezones.UNKNOWN_TIMEZONE
    ]
    if not names:  # a mobile or unlisted prefix: every zone of its country, conservatively
        names = list(number_timezones._country_level_time_zones_for_number(parsed))
    zones: list[ZoneInfo] = []
    for name in names:
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return zones or [ZoneInfo("UTC")]
