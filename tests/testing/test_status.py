"""Status events: a phone whose deliveries fail makes the sandbox report undelivered/failed in
signed status callbacks, and the bot's @bot.on_status hooks run, on memory and on Redis."""

from __future__ import annotations

import pytest

from botkit import Bot, Context, StatusContext
from botkit.testing import Tester

ALICE = "+15550101001"


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


@pytest.fixture
def bot() -> Bot:
    bot = Bot("tracking")

    @bot.fallback
    async def echo(ctx: Context) -> None:
        await ctx.reply(f"echo: {ctx.message.body}")

    @bot.on_status("undelivered", "failed")
    async def fall_back_to_sms(ctx: StatusContext) -> None:
        # A WhatsApp message that failed is followed up by SMS, from the same number.
        if ctx.callback.to.startswith("whatsapp:"):
            await ctx.send(ctx.callback.to.removeprefix("whatsapp:"), f"({ctx.error_code}) sms")

    return bot


async def test_delivered_is_reported_for_an_ordinary_reply(tester: Tester) -> None:
    phone = tester.phone(ALICE)
    await phone.send("hello")
    reply = await phone.expect_reply(equals="echo: hello")
    await tester.expect_status(reply, "delivered")
    assert reply.history == ["queued", "sending", "sent", "delivered"]


async def test_an_undelivered_message_runs_the_status_hooks(tester: Tester) -> None:
    whatsapp = tester.phone(ALICE, whatsapp=True)
    sms = tester.phone(ALICE)
    await whatsapp.send("hello")
    first = await whatsapp.expect_reply(equals="echo: hello")
    await tester.expect_status(first, "delivered")
    await sms.expect_no_reply()

    whatsapp.leave_whatsapp()
    await whatsapp.send("still there?")
    lost = await whatsapp.expect_reply(equals="echo: still there?")
    await tester.expect_status(lost, "failed")
    assert lost.error_code == 63003
    await sms.expect_reply(equals="(63003) sms")


async def test_a_failing_handset_reports_undelivered_with_its_code(tester: Tester) -> None:
    phone = tester.phone(ALICE, whatsapp=True)
    phone.fail_deliveries(30003)
    await phone.send("hello")
    reply = await phone.expect_reply(equals="echo: hello")
    await tester.expect_status(reply, "undelivered")
    assert (reply.status, reply.error_code) == ("undelivered", 30003)
    await tester.phone(ALICE).expect_reply(equals="(30003) sms")


async def test_waiting_for_a_status_that_never_comes_fails_with_the_history(
    tester: Tester,
) -> None:
    phone = tester.phone(ALICE)
    await phone.send("hello")
    reply = await phone.expect_reply()
    with pytest.raises(AssertionError) as failed:
        await tester.expect_status(reply, "undelivered", within=0.2)
    text = str(failed.value)
    assert f"expected message {reply.sid} to {ALICE} to become undelivered within 0.2 s" in text
    assert "its statuses were: queued, sending, sent, delivered" in text
    assert "transcript (2 messages):" in text


@pytest.mark.botkit(status_callbacks=False)
async def test_status_callbacks_can_be_turned_off(tester: Tester) -> None:
    assert tester.runtime.settings.public_url is None
    phone = tester.phone(ALICE, whatsapp=True)
    phone.leave_whatsapp()
    await phone.send("hello")
    await phone.expect_reply()
    await tester.phone(ALICE).expect_no_reply()
