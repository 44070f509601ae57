"""Timers live in Redis: one armed by a process that then stops fires in the next one, and
timers due while two processes run fire once each, whichever process takes them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from redis.exceptions import RedisError

from botkit import Bot, Context
from tests.conftest import StartServer
from tests.support.logs import JsonLogs
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params

BOT = "+15550002222"


def counting_bot(fired: Counter[str]) -> Bot:
    bot = Bot("durable")

    @bot.intent("nudge", keywords=["nudge-never-typed"])
    async def nudge(ctx: Context) -> None:
        fired[str(ctx.message.sender)] += 1
        await ctx.reply("still there?")

    return bot


async def sent_to(twilio: SandboxTwilio, count: int, within: float = 10.0) -> list[str]:
    async with asyncio.timeout(within):
        while len(twilio.sandbox.state.messages) < count:
            await asyncio.sleep(0.02)
    return [m.to for m in twilio.sandbox.state.messages.values()]


async def test_a_reminder_survives_a_restart(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    fired: Counter[str] = Counter()
    first = await start_server(counting_bot(fired), redis_url=clean_redis)
    bot = first.runtime.bot
    await bot.schedule("+15550001111", intent="nudge", from_=BOT, in_=timedelta(seconds=1))
    await first.stop()  # nothing fired yet: the process is gone, the timer is in Redis
    assert not fired

    again: Counter[str] = Counter()
    await start_server(counting_bot(again), redis_url=clean_redis)
    assert await sent_to(twilio, 1) == ["+15550001111"]
    assert again == {"+15550001111": 1}


async def test_timers_fire_once_across_processes(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    fired: Counter[str] = Counter()
    servers = [await start_server(counting_bot(fired), redis_url=clean_redis) for _ in range(2)]
    people = [f"+1555000{n:04d}" for n in range(30)]
    bot = servers[0].runtime.bot
    for person in people:
        await bot.schedule(person, intent="nudge", from_=BOT, in_=timedelta(seconds=0.5))
    assert sorted(await sent_to(twilio, len(people))) == sorted(people)
    await asyncio.sleep(1.0)  # a second firing would have come by now
    assert len(twilio.sandbox.state.messages) == len(people)
    assert fired == dict.fromkeys(people, 1)


async def test_a_timer_whose_intent_is_gone_after_a_deploy_is_dropped_once(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str, logs: JsonLogs
) -> None:
    """Armed by a version of the bot that had the intent, due in one that has not: one error
    line naming it, nothing sent, and the timer is not tried again and again."""
    fired: Counter[str] = Counter()
    first = await start_server(counting_bot(fired), redis_url=clean_redis)
    timer_id = await first.runtime.bot.schedule(
        "+15550001111", intent="nudge", from_=BOT, in_=timedelta(seconds=0.5)
    )
    await first.stop()
    logs.take()

    renamed = Bot("durable")

    @renamed.intent("poke", keywords=["poke-never-typed"])
    async def poke(ctx: Context) -> None:
        await ctx.reply("still there?")

    again = await start_server(renamed, redis_url=clean_redis)
    async with asyncio.timeout(10):
        while await again.runtime.stores.timers.pending():
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)
    assert twilio.sandbox.state.messages == {}
    lines = logs.take()
    errors = [line for line in lines if line.get("event") == "timer fired for an unknown intent"]
    assert [(e["timer"], e["intent"]) for e in errors] == [(timer_id, "nudge")]


async def test_a_handler_run_again_after_a_failure_arms_its_unkeyed_reminder_once(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    """A reminder armed without a key is named after the message and its place in the handler,
    as replies are: a handler that Redis failed under after arming it runs again (the message
    was never finished) and arms the same timer, not a second one."""
    bot = Bot("rearmed")
    runs: list[int] = []

    @bot.fallback
    async def book(ctx: Context) -> None:
        await ctx.remind(in_=timedelta(hours=20), intent="nudge")
        runs.append(1)
        if len(runs) == 1:
            raise RedisError("the connection dropped")  # store trouble: the event is retried
        await ctx.reply("booked")

    @bot.intent("nudge", keywords=["nudge-never-typed"])
    async def nudge(ctx: Context) -> None:
        await ctx.reply("still there?")

    server = await start_server(bot, redis_url=store_url, inbound_lease=0.3)
    assert (await server.post(inbound_params("book"))).status == 200
    await twilio.wait_for(1, timeout=10)
    await server.idle()
    assert [m.body for m in twilio.sent] == ["booked"]
    assert len(runs) == 2
    assert await server.runtime.stores.timers.pending() == 1
