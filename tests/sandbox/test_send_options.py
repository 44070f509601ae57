"""The sandbox honours Twilio's delivery options of a Messages create, through the official SDK:
ValidityPeriod (and its expiry, 30036), Attempt, SmartEncoded and ShortenUrls; and WhatsApp's
read status, for what counts a campaign's reads."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.config import MessagingService
from botkit.testing.sandbox_client import SandboxClient, SandboxRefused

BOT = "+15550002222"
USER = "+15550001111"
SERVICE = "MG" + "6" * 32
SHORTENING = "MG" + "7" * 32


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = Sandbox(
        SandboxConfig(
            status_step=0.6,
            services=[
                MessagingService(sid=SERVICE, numbers=["+15550006001"]),
                MessagingService(
                    sid=SHORTENING, numbers=["+15550006002"], link_domain="https://go.shop.test"
                ),
            ],
        )
    )
    await box.start()
    yield box
    await box.stop()


async def test_a_message_still_queued_after_its_validity_period_fails_with_30036(
    client: Client, sandbox: Sandbox
) -> None:
    """A Messaging Service message waits a status step as accepted and one as queued: 1.2 s in
    Twilio's queue, more than a ValidityPeriod of 1 s; one of 60 s goes."""
    short = await client.messages.create_async(
        to=USER, messaging_service_sid=SERVICE, body="flash sale", validity_period=1
    )
    long = await client.messages.create_async(
        to=USER, messaging_service_sid=SERVICE, body="order shipped", validity_period=60
    )
    await asyncio.wait_for(sandbox.settle(), 10)
    expired = await client.messages(short.sid).fetch_async()
    sent = await client.messages(long.sid).fetch_async()
    assert (expired.status, expired.error_code) == ("failed", 30036)
    assert (sent.status, sent.error_code) == ("delivered", None)


@pytest.mark.parametrize(("value", "code"), [("0", 90014), ("-5", 90014), ("x", 90014),
                                              ("36001", 90007)])
async def test_a_validity_period_outside_1_to_36000_is_refused(
    client: Client, value: str, code: int
) -> None:
    with pytest.raises(TwilioRestException) as refused:
        await client.messages.create_async(to=USER, from_=BOT, body="x", validity_period=value)
    assert (refused.value.status, refused.value.code) == (400, code)


async def test_attempt_is_taken_and_must_be_a_positive_integer(
    client: Client, sandbox: Sandbox
) -> None:
    created = await client.messages.create_async(to=USER, from_=BOT, body="x", attempt=3)
    assert sandbox.state.messages[created.sid].attempt == 3
    with pytest.raises(TwilioRestException) as refused:
        await client.messages.create_async(to=USER, from_=BOT, body="x", attempt=0)
    assert refused.value.code == 20001


async def test_smart_encoding_replaces_look_alikes_and_saves_segments(client: Client) -> None:
    text = "\u201cYour order\u201d \u2014 it\u2019s on its way\u2026 " + "x" * 100
    plain = await client.messages.create_async(to=USER, from_=BOT, body=text)
    smart = await client.messages.create_async(
        to=USER, from_=BOT, body=text, smart_encoded=True
    )
    assert plain.num_segments == "2"  # UCS-2: 67 a part
    assert smart.body.startswith("\"Your order\" - it's on its way... ")
    assert smart.num_segments == "1"  # GSM-7: 148 characters


async def test_shorten_urls_uses_the_services_domain_and_needs_a_service(
    client: Client, sandbox: Sandbox
) -> None:
    body = "Track it: https://shop.example.com/orders/12345?utm=sms and reply STOP to stop"
    short = await client.messages.create_async(
        to=USER, messaging_service_sid=SHORTENING, body=body, shorten_urls=True
    )
    link = re.search(r"https://go\.shop\.test/[A-Za-z0-9]{10}", short.body)
    assert link is not None, short.body
    assert sandbox.state.short_links[link.group(0)] == "https://shop.example.com/orders/12345?utm=sms"
    as_is = await client.messages.create_async(
        to=USER, messaging_service_sid=SERVICE, body=body, shorten_urls=True
    )
    assert as_is.body == body  # a service without a link shortening domain
    with pytest.raises(TwilioRestException) as refused:
        await client.messages.create_async(to=USER, from_=BOT, body=body, shorten_urls=True)
    assert (refused.value.status, refused.value.code) == (400, 20001)


async def test_a_whatsapp_user_reading_the_chat_marks_delivered_messages_read(
    client: Client, sandbox: Sandbox
) -> None:
    """``POST /sandbox/phones/{address}/read``: WhatsApp's blue ticks, as a ``read`` status
    (the campaign counts take it from the status callback). SMS reports no reads."""
    phones = SandboxClient(sandbox.url, sandbox.config.account_sid, sandbox.config.auth_token)
    try:
        await phones.text("whatsapp:" + USER, "whatsapp:" + BOT, "hi")  # opens the window
        sent = await client.messages.create_async(
            to="whatsapp:" + USER, from_="whatsapp:" + BOT, body="your order shipped"
        )
        await asyncio.wait_for(sandbox.settle(), 10)
        assert sandbox.state.messages[sent.sid].status == "delivered"
        assert await phones.read("whatsapp:" + USER) == 1
        await asyncio.wait_for(sandbox.settle(), 10)
        fetched = await client.messages(sent.sid).fetch_async()
        assert fetched.status == "read"
        assert await phones.read("whatsapp:" + USER) == 0  # read once
        with pytest.raises(SandboxRefused, match="Only WhatsApp reports"):
            await phones.read(USER)
    finally:
        await phones.close()
