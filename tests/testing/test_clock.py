"""The clock fixture moves every time rule: session TTLs, the WhatsApp window, quiet hours.

Each runs on the memory stores and on Redis: the rules live in the stores, and both must read
botkit.core.clock the same way.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from botkit import Bot, Context
from botkit.outbound.shaping import WhatsAppTemplate
from botkit.testing import TestClock, Tester

TEMPLATE = "HX" + "5" * 32
SHIPPED = {
    "twilio/quick-reply": {
        "body": "Update: {{1}}",
        "actions": [{"title": "Track", "id": "track"}, {"title": "Stop", "id": "stop"}],
    }
}
NEW_YORK = ZoneInfo("America/New_York")
NY_PHONE = "+12125550123"  # a Manhattan number: one time zone, so quiet hours are exact


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    """Every test here runs on memory, then on Redis."""
    return store_url


@pytest.fixture
def bot() -> Bot:
    bot = Bot("clocked", whatsapp_template=WhatsAppTemplate(content_sid=TEMPLATE))

    @bot.intent("visit", keywords=["hi"], channel=["sms", "whatsapp"])
    async def visit(ctx: Context) -> None:
        ctx.session["visits"] = ctx.session.get("visits", 0) + 1
        await ctx.reply(f"visit {ctx.session['visits']}")

    return bot


async def test_a_session_lives_its_ttl_on_the_clock_then_expires(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1")

    clock.advance(hours=23, minutes=59)  # BOTKIT_SESSION_TTL is 24 h from the last save
    await phone.send("hi")
    await phone.expect_reply(equals="visit 2")

    clock.advance(hours=24, seconds=1)
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1")


@pytest.mark.botkit(settings={"session_ttl": 60})
async def test_the_ttl_setting_is_what_the_clock_is_measured_against(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1")
    clock.advance(seconds=61)
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1")


async def test_the_whatsapp_window_closes_24_hours_after_the_users_last_message(
    tester: Tester, clock: TestClock
) -> None:
    tester.add_template(SHIPPED, sid=TEMPLATE)
    phone = tester.phone("+15550001111", whatsapp=True)
    sender = "whatsapp:" + tester.bot_number
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1", template=False)

    clock.advance(hours=23)
    await tester.bot.send(phone.address, "your parcel left", from_=sender)
    await phone.expect_reply(equals="your parcel left", template=False)

    clock.advance(hours=1, seconds=1)
    await tester.bot.send(phone.address, "your parcel arrived", from_=sender)
    shipped = await phone.expect_reply(
        equals="Update: your parcel arrived", template=TEMPLATE, buttons=["Track", "Stop"]
    )
    assert shipped.sender == sender

    # Writing again reopens the window: free-form text goes through again (the session,
    # 24 hours old, has expired meanwhile).
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1", template=False)


QUIET = {"quiet_hours": {"start": "21:00", "end": "08:00"}}


@pytest.mark.botkit(settings=QUIET)
async def test_bulk_sends_wait_out_quiet_hours_by_the_clock(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone(NY_PHONE)
    clock.set(datetime(2026, 1, 15, 23, 0, tzinfo=NEW_YORK))
    held = await tester.bot.send(NY_PHONE, "weekly offers", from_=tester.bot_number)
    await phone.expect_no_reply(within=0.3)
    assert (await tester.runtime.stores.queue.status(held.id) or {})["state"] == (
        "delayed"
    )

    # A reply is not bulk: it goes at night too.
    await phone.send("hi")
    await phone.expect_reply(equals="visit 1")

    # Morning on the clock: what the night held goes out, and new bulk sends go at once.
    clock.set(datetime(2026, 1, 16, 12, 0, tzinfo=NEW_YORK))
    await phone.expect_reply(equals="weekly offers")
    await tester.bot.send(NY_PHONE, "lunch offers", from_=tester.bot_number)
    await phone.expect_reply(equals="lunch offers")


@pytest.mark.botkit(settings=QUIET)
async def test_a_jump_still_inside_the_night_releases_nothing(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone(NY_PHONE)
    clock.set(datetime(2026, 1, 15, 22, 0, tzinfo=NEW_YORK))
    await tester.bot.send(NY_PHONE, "weekly offers", from_=tester.bot_number)
    clock.advance(hours=5)  # 03:00: still night
    await phone.expect_no_reply(within=0.3)
    clock.advance(hours=5)  # 08:00
    await phone.expect_reply(equals="weekly offers")


@pytest.mark.botkit(settings=QUIET)
async def test_quiet_hours_hold_a_send_for_as_long_as_the_night_lasts_on_the_clock(
    tester: Tester, clock: TestClock
) -> None:
    """The queue keeps real time: it is told how long the night still lasts on the clock."""
    clock.set(datetime(2026, 1, 15, 7, 0, tzinfo=NEW_YORK))
    quiet = tester.runtime.settings.quiet_hours
    assert quiet is not None
    held_us = quiet.held_until_us(NY_PHONE)
    assert held_us is not None
    assert held_us / 1e6 - time.time() == pytest.approx(3600, abs=5)
    clock.advance(hours=1)
    assert quiet.held_until_us(NY_PHONE) is None
