"""Reminders run a handler later with the person's session, as if they had written: moved by
the testing kit's clock, cancelled by key, replaced when armed again, recurring; on memory and
on Redis."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from botkit import Bot, Context, SendError
from botkit.testing import TestClock, Tester

USER = "+15550001111"


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


@pytest.fixture
def bot() -> Bot:
    bot = Bot("reminding")

    @bot.intent("book", keywords=["book"])
    async def book(ctx: Context) -> None:
        ctx.session["table"] = "7pm"
        await ctx.remind(in_=timedelta(hours=20), intent="feedback", key="feedback",
                         data={"table": 7})
        await ctx.reply("booked")

    @bot.intent("nevermind", keywords=["nevermind"])
    async def nevermind(ctx: Context) -> None:
        cancelled = await ctx.cancel_reminder("feedback")
        await ctx.reply(f"cancelled: {cancelled}")

    @bot.intent("daily", keywords=["daily"])
    async def daily(ctx: Context) -> None:
        await ctx.remind(in_=timedelta(hours=12), every=timedelta(hours=12), intent="tip",
                         key="tips")
        await ctx.reply("subscribed")

    @bot.intent("feedback", keywords=["feedback-never-typed"])
    async def feedback(ctx: Context) -> None:
        assert ctx.timer is not None
        await ctx.reply(
            f"How was your {ctx.session.get('table', 'last')} dinner at table "
            f"{ctx.timer.data['table']}?"
        )

    @bot.intent("tip", keywords=["tip-never-typed"])
    async def tip(ctx: Context) -> None:
        assert ctx.timer is not None
        ctx.session["tips"] = ctx.session.get("tips", 0) + 1
        await ctx.reply(f"tip #{ctx.session['tips']} (occurrence {ctx.timer.occurrence})")

    return bot


async def test_a_reminder_runs_its_intent_with_the_session_when_the_clock_gets_there(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone(USER)
    await phone.send("book")
    await phone.expect_reply(equals="booked")
    clock.advance(hours=19, minutes=59)
    await phone.expect_no_reply(within=0.5)
    clock.advance(minutes=1)
    await phone.expect_reply(equals="How was your 7pm dinner at table 7?")
    clock.advance(days=3)
    await phone.expect_no_reply(within=0.5)  # once


async def test_a_cancelled_reminder_never_runs(tester: Tester, clock: TestClock) -> None:
    phone = tester.phone(USER)
    await phone.send("book")
    await phone.expect_reply(equals="booked")
    await phone.send("nevermind")
    await phone.expect_reply(equals="cancelled: True")
    clock.advance(days=2)
    await phone.expect_no_reply(within=0.5)


async def test_arming_the_same_key_again_replaces_the_reminder(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone(USER)
    await phone.send("book")
    await phone.expect_reply(equals="booked")
    clock.advance(hours=12)
    await phone.send("book")  # 20 hours from now, not from the first booking
    await phone.expect_reply(equals="booked")
    clock.advance(hours=10)
    await phone.expect_no_reply(within=0.5)
    clock.advance(hours=10)
    await phone.expect_reply(contains="How was your 7pm dinner")
    clock.advance(days=2)
    await phone.expect_no_reply(within=0.5)


async def test_a_recurring_reminder_runs_every_period(tester: Tester, clock: TestClock) -> None:
    phone = tester.phone(USER)
    await phone.send("daily")
    await phone.expect_reply(equals="subscribed")
    for turn in range(3):
        clock.advance(hours=12)
        await phone.expect_reply(equals=f"tip #{turn + 1} (occurrence {turn})")
    assert await tester.bot.cancel_timer(to=USER, key="tips")
    clock.advance(hours=12)
    await phone.expect_no_reply(within=0.5)


async def test_bot_schedule_runs_a_handler_for_someone_who_never_wrote(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone("+15550003333")
    timer_id = await tester.bot.schedule(
        phone.address, intent="feedback", from_=tester.bot_number,
        at=clock.as_datetime() + timedelta(hours=2), data={"table": 9},
    )
    assert timer_id
    clock.advance(hours=2)
    reply = await phone.expect_reply(equals="How was your last dinner at table 9?")
    assert reply.sender == tester.bot_number


async def test_bad_schedules_are_one_line_errors(tester: Tester, clock: TestClock) -> None:
    bot = tester.bot
    with pytest.raises(SendError, match="no intent named 'nope'"):
        await bot.schedule(USER, intent="nope", from_=tester.bot_number, in_=timedelta(hours=1))
    with pytest.raises(SendError, match=r"exactly one of at= .* or in_="):
        await bot.schedule(USER, intent="tip", from_=tester.bot_number)
    with pytest.raises(SendError, match="every= must be at least 60 seconds"):
        await bot.schedule(USER, intent="tip", from_=tester.bot_number,
                           in_=timedelta(hours=1), every=timedelta(seconds=1))
    with pytest.raises(SendError, match="cannot schedule from '12'"):
        await bot.schedule(USER, intent="tip", from_="12", in_=timedelta(hours=1))
    with pytest.raises(SendError, match=r"data= must be JSON .*set is not JSON serializable"):
        await bot.schedule(USER, intent="tip", from_=tester.bot_number, in_=timedelta(hours=1),
                           data={"items": {"tea"}})
    with pytest.raises(SendError, match=r"at=2030-01-01T09:00:00 has no time zone"):
        await bot.schedule(USER, intent="tip", from_=tester.bot_number,
                           at=datetime(2030, 1, 1, 9, 0))
