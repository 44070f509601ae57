"""Twilio's Advanced Opt-Out answers STOP, START and HELP itself and says so with ``OptOutType``
on the webhook: the bot records the ledger change and sends nothing of its own, so the user
gets one confirmation, and no STOP confirmation is refused (21610) into a dead letter."""

from __future__ import annotations

import pytest

from botkit import Bot, Context
from botkit.compliance.keywords import DEFAULT_HELP_REPLY, DEFAULT_OPT_IN_REPLY
from botkit.testing import Tester

USER = "+15550004444"
TWILIO_STOP = "You have successfully been unsubscribed"


@pytest.fixture
def bot() -> Bot:
    bot = Bot("opt-out-type")

    @bot.fallback
    async def echo(ctx: Context) -> None:
        await ctx.reply(f"echo: {ctx.message.text}")

    return bot


async def test_twilio_answers_once_and_the_ledger_still_records(bot: Bot) -> None:
    async with Tester(bot, twilio_keyword_replies=True) as tester:
        phone = tester.phone(USER)
        await phone.send("HELP")
        await phone.expect_reply(equals=DEFAULT_HELP_REPLY)
        await phone.expect_no_reply()  # not the bot's help as well

        await phone.send("STOP")
        await phone.expect_reply(contains=TWILIO_STOP)
        await phone.expect_no_reply()
        assert await tester.runtime.stores.queue.dead_letters(10) == []
        ledger = tester.runtime.stores.ledger
        assert await ledger.is_opted_out(USER, [tester.bot_number])

        await phone.send("START")
        await phone.expect_reply(equals=DEFAULT_OPT_IN_REPLY)
        await phone.expect_no_reply()
        assert not await ledger.is_opted_out(USER, [tester.bot_number])
        await phone.send("hello")
        await phone.expect_reply(equals="echo: hello")
        assert await tester.runtime.stores.queue.dead_letters(10) == []
