"""Bulk without harm (issue 20): while a campaign of 10,000 is backlogged on a sender held to a
real rate by a strict sandbox, a user's reply on that sender takes the sender's next free slot
after being queued, and the campaign keeps the sender busy without a 429. On memory and on
Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from botkit import Bot, Context
from botkit.outbound.limits.rates import RateTable
from botkit.sandbox.rates import RateBook
from botkit.testing import Tester
from tests.support.logs import JsonLogs

#: Segments a second the bot's number may send: one rate slot is 1 / RATE seconds.
RATE = 10.0
AUDIENCE = 10_000
USER = "+15550009999"


@pytest.fixture
def queued() -> dict[str, float]:
    """When the bot queued its reply to each of the user's messages, by the message's text."""
    return {}


@pytest.fixture
async def tester(store_url: str | None, queued: dict[str, float]) -> AsyncIterator[Tester]:
    bot = Bot("bulk")

    @bot.fallback
    async def echo(ctx: Context) -> None:
        queued[ctx.message.body] = time.time()  # the reply is queued right after this
        await ctx.reply(f"You said: {ctx.message.body}")

    rates = RateTable(long_code=RATE)
    tester = Tester(bot, redis_url=store_url, settings={"rates": rates})
    # Twilio's side of the rate: a strict sandbox answers 429 to a send that comes too soon.
    tester.sandbox.state.config.strict_rates = True
    tester.sandbox.state.rates = RateBook({"long_code": RATE})
    async with tester:
        yield tester


async def test_a_reply_overtakes_a_backlogged_campaign_within_one_rate_slot(
    tester: Tester, queued: dict[str, float], logs: JsonLogs
) -> None:
    audience = [f"+1555{n:07d}" for n in range(AUDIENCE)]
    imported = await tester.bot.broadcast(audience, text="news", from_=tester.bot_number)
    assert imported.added == AUDIENCE
    records = tester.sandbox.state.rates.records
    async with asyncio.timeout(10):  # the campaign is sending: the sender is busy
        while len(records) < 5:
            await asyncio.sleep(0.02)
    started = time.time()
    user = tester.phone(USER)
    for n in range(8):
        await user.send(f"question {n}")
        await user.expect_reply(equals=f"You said: question {n}", within=3)
        await asyncio.sleep(0.23)  # a different phase of the sender's slot each time
    ended = time.time()

    # Counted in the sender's slots, not seconds (a loaded machine stretches seconds; the time
    # figure is bench/campaign.py's): a reply takes the sender's next free slot, so at most the
    # campaign messages already claimed go out between its queueing and it: the one in flight
    # and one claimed within the worker's lookahead.
    bodies = {m.sid: m.body for m in tester.sandbox.state.messages.values()}
    sent_at = {bodies[r.sid]: r.at for r in records if bodies.get(r.sid, "").startswith("You")}
    news = [r.at for r in records if bodies.get(r.sid) == "news"]
    overtaken_by = {
        body: sum(1 for at in news if queued_at < at < sent_at[f"You said: {body}"])
        for body, queued_at in queued.items()
    }
    assert max(overtaken_by.values()) <= 2, overtaken_by

    # The campaign kept the sender at its rate meanwhile, and the sandbox refused nothing.
    window = [r for r in records if started <= r.at < ended]
    assert len(window) >= 0.8 * RATE * (ended - started), (len(window), ended - started)
    events = [line.get("event") for line in logs.take()]
    assert "message sent" in events and "sender rate limited by Twilio" not in events
    report = await tester.bot.campaign(imported.campaign.id)
    assert report.remaining > AUDIENCE // 2  # still backlogged when the test ended
