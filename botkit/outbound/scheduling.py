"""A message sent later (``send_at``): who holds it until then, botkit or Twilio.

botkit holds it by default: the job waits in the queue's delayed set (costing no sender time)
and goes in line when it is due, so everything botkit checks at send time (consent, quiet hours,
the WhatsApp window, the sender's rate) is checked at the time it is really sent, and
``bot.broadcast`` can still pause or cancel it.

Twilio holds it (``ScheduleType=fixed`` + ``SendAt``) when Twilio can: the message goes
through a Messaging Service (Twilio schedules nothing else) and is due between
``TWILIO_MIN_LEAD`` and ``TWILIO_MAX_LEAD`` from the moment a worker hands it over. Then it
leaves botkit's queue at once, and goes out even if every botkit process is down at that time;
Twilio applies its own opt-out list when it sends it. Quiet hours are judged at ``send_at``
when it is handed over. A message due sooner than the minimum (or whose lead shrank below it
while it waited in line) is held by botkit instead, so it is never sent early.

Times: ``send_at`` is read against the rule clock (botkit.core.clock), so the testing kit's
clock moves scheduled messages like every other rule; the queue and Twilio are given the same
lead on real time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from botkit.core import clock
from botkit.outbound.message import OutboundMessage

#: Twilio schedules a message 15 minutes to 35 days ahead; a minute of margin covers the time
#: between the decision and Twilio's own check.
TWILIO_MIN_LEAD = 16 * 60.0
TWILIO_MAX_LEAD = 35 * 24 * 3600.0 - 3600.0


def lead(message: OutboundMessage) -> float:
    """Seconds until the message is due by the rule clock (0 or less: due; no send_at: 0)."""
    if message.send_at is None:
        return 0.0
    return message.send_at.timestamp() - clock.now()


def twilio_schedules(message: OutboundMessage) -> bool:
    """Whether the message is handed to Twilio now with SendAt (else botkit holds it)."""
    return message.messaging_service_sid is not None and (
        TWILIO_MIN_LEAD <= lead(message) <= TWILIO_MAX_LEAD
    )


def held_until_us(message: OutboundMessage) -> int | None:
    """When botkit must put the message in line (µs, the queue's real time), or None: now."""
    ahead = lead(message)
    if ahead <= 0 or twilio_schedules(message):
        return None
    return int((time.time() + ahead) * 1_000_000)


def send_at_param(message: OutboundMessage) -> str:
    """Twilio's SendAt for the message: the same lead on real time, ISO 8601 in UTC."""
    moment = datetime.fromtimestamp(time.time() + lead(message), UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
