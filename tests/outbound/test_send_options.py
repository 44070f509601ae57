"""Every send option reaches Twilio as Twilio expects it (the sandbox records what it was sent):
validity, a time to send at (held by botkit, or by Twilio with a Messaging Service), a status
callback of the message's own, smart encoding, link shortening and the attempt count."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from botkit import Bot, Context, SendError
from botkit.testing import TestClock, Tester
from tests.conftest import StartServer
from tests.outbound.harness import dispatch_rig
from tests.support.sandbox_twilio import SERVICES, SandboxTwilio

USER = "+15550001111"
SERVICE = SERVICES[0].sid


@pytest.fixture
def botkit_redis_url(store_url: str | None) -> str | None:
    return store_url


#: Where the bot's reply asks its statuses to go (set by the test's receiver).
CALLBACK_URL: dict[str, str] = {}


@pytest.fixture
async def callbacks() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A status callback URL of the test's own, and what was posted to it."""
    posted: list[dict[str, str]] = []

    async def receive(request: web.Request) -> web.Response:
        posted.append(dict(await request.post()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/statuses", receive)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    CALLBACK_URL["url"] = str(server.make_url("/statuses"))
    yield CALLBACK_URL["url"], posted
    await server.close()


@pytest.fixture
def bot() -> Bot:
    bot = Bot("options")

    @bot.intent("order", keywords=["order"])
    async def order(ctx: Context) -> None:
        await ctx.reply(
            "\u201cOrder 42\u201d \u2014 it\u2019s packed",
            valid_for=600,
            smart_encoded=True,
            status_callback=CALLBACK_URL["url"],
        )

    return bot


async def test_a_reply_carries_validity_smart_encoding_attempt_and_its_own_callback(
    tester: Tester, callbacks: tuple[str, list[dict[str, str]]]
) -> None:
    phone = tester.phone(USER)
    await phone.send("order")
    reply = await phone.expect_reply(equals="\"Order 42\" - it's packed")
    record = tester.sandbox.state.messages[reply.sid]
    assert record.validity_period is not None and 590 <= record.validity_period <= 600
    assert record.attempt == 1
    assert record.status_callback == callbacks[0]
    await tester.settle()
    _, posted = callbacks
    async with asyncio.timeout(5):
        while "delivered" not in [p["MessageStatus"] for p in posted]:
            await asyncio.sleep(0.01)
    assert {p["MessageSid"] for p in posted} == {reply.sid}


async def test_a_message_for_later_is_held_by_botkit_until_the_clock_gets_there(
    tester: Tester, clock: TestClock
) -> None:
    phone = tester.phone(USER)
    due = clock.as_datetime() + timedelta(hours=2)
    await tester.bot.send(phone.address, "your table is ready", from_=tester.bot_number,
                          send_at=due)
    await phone.expect_no_reply(within=0.3)
    clock.advance(hours=1, minutes=59)
    await phone.expect_no_reply(within=0.3)
    clock.advance(minutes=1)
    await phone.expect_reply(equals="your table is ready")


async def test_with_a_messaging_service_twilio_holds_it_when_due_far_enough_ahead(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    """An hour ahead: Twilio schedules it (SendAt); five minutes ahead is under Twilio's
    minimum, so botkit holds it and nothing reaches Twilio yet."""
    server = await start_server(Bot("scheduling"))
    messenger = server.runtime.messenger
    now = datetime.now(UTC)
    await messenger.send(USER, "reminder: dentist", messaging_service_sid=SERVICE,
                         send_at=now + timedelta(hours=1), lane="bulk")
    await messenger.send(USER, "soon", messaging_service_sid=SERVICE,
                         send_at=now + timedelta(minutes=5), lane="bulk")
    async with asyncio.timeout(5):
        while not twilio.sandbox.state.messages:
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    [record] = twilio.sandbox.state.messages.values()
    assert (record.body, record.status) == ("reminder: dentist", "scheduled")
    assert record.send_at is not None
    assert abs((record.send_at - now).total_seconds() - 3600) < 5
    assert await server.runtime.stores.queue.pending() == 1  # "soon", held by botkit


async def test_shorten_urls_needs_a_messaging_service(start_server: StartServer) -> None:
    server = await start_server(Bot("shortening"))
    with pytest.raises(SendError, match="shorten_urls needs a Messaging Service"):
        await server.runtime.messenger.send(
            USER, "https://a.test", from_="+15550002222", shorten_urls=True
        )


async def test_a_message_past_its_validity_is_dead_lettered_not_sent(
    store_url: str | None,
) -> None:
    """valid_for counts from when the message is due: one queued while no worker ran, for
    longer than it was valid, is buried as ``expired`` and never reaches Twilio; one sent in
    time carries what is left of it as ValidityPeriod."""
    async with dispatch_rig(store_url, workers=0) as rig:
        stale = await rig.send(USER, "the bus leaves in 5 minutes", valid_for=0.2)
        fresh = await rig.send(USER, "your code is 1234", valid_for=300)
        await asyncio.sleep(0.3)
        rig.add_worker()
        await rig.drained()
        [record] = rig.sandbox.state.messages.values()
        assert record.body == "your code is 1234"
        assert record.validity_period is not None and 290 <= record.validity_period <= 300
        assert ((await rig.queue.status(fresh)) or {}).get("state") == "sent"
        [letter] = await rig.queue.dead_letters(limit=10)
        assert (letter.job.id, letter.reason) == (stale, "expired")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"valid_for": 0}, "valid_for must be a number of seconds above 0"),
        ({"valid_for": -5}, "valid_for must be a number of seconds above 0"),
        ({"send_at": datetime(2030, 1, 1, 9, 0)}, "send_at"),
        ({"status_callback": "ftp://example.com/s"}, "status_callback must be an http(s) URL"),
        ({"shorten_urls": True}, "shorten_urls needs a Messaging Service"),
        ({"from_": "12"}, "cannot send from '12': '12' is not an E.164 number"),
        ({"from_": None, "messaging_service_sid": "MGxx"},
         "'MGxx' is not a Messaging Service SID (MG + 32 hex digits)"),
    ],
    ids=["valid_for=0", "valid_for<0", "naive send_at", "ftp callback", "shorten from a number",
         "bad number", "bad service"],
)
async def test_bad_send_options_are_one_line_errors(
    start_server: StartServer, options: dict[str, object], error: str
) -> None:
    server = await start_server(Bot("bad-options"))
    with pytest.raises(SendError) as raised:
        await server.runtime.messenger.send(
            USER, "https://a.test", **{"from_": "+15550002222", **options}  # type: ignore[arg-type]
        )
    message = str(raised.value)
    assert error in message and "\n" not in message, message
    assert await server.runtime.stores.queue.pending() == 0
