"""Context on its own: who replies come from, where sends go, and their idempotency keys.

The end-to-end versions (through the app and the fake Twilio) are in test_routing.py; these pin
down the OutboundMessage each call hands the outbox, with nothing else running.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from botkit import Context, OutboundHandle, OutboundMessage, SendError
from botkit.outbound.messenger import From, Messenger
from botkit.twilio.inbound import parse_inbound_message
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params

SERVICE_SID = "MG" + "c" * 32
DEFAULT_SERVICE_SID = "MG" + "d" * 32
OTHER_USER = "+15550009999"
OTHER_NUMBER = "+15550003333"


class RecordingOutbox:
    """An Outbox that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[OutboundMessage] = []

    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        self.messages.append(message)
        return OutboundHandle(
            id=f"out-{len(self.messages)}", idempotency_key=message.idempotency_key
        )

    async def close(self) -> None:
        return None


def make_context(params: Mapping[str, str], outbox: RecordingOutbox, **kwargs: object) -> Context:
    sender = Messenger(outbox, From(messaging_service_sid=DEFAULT_SERVICE_SID))
    return Context(parse_inbound_message(params), {}, sender, **kwargs)  # type: ignore[arg-type]


async def test_reply_goes_back_from_the_number_written_to() -> None:
    outbox = RecordingOutbox()
    params = inbound_params("hi", To=OTHER_NUMBER)
    ctx = make_context(params, outbox)
    assert ctx.reply_from == From(number=OTHER_NUMBER)

    handle = await ctx.reply("hello")
    (sent,) = outbox.messages
    assert (sent.to, sent.from_, sent.messaging_service_sid) == (USER, OTHER_NUMBER, None)
    assert sent.body == "hello"
    assert handle.idempotency_key == sent.idempotency_key == f"{params['MessageSid']}:1"


async def test_reply_goes_back_from_the_messaging_service_written_to() -> None:
    outbox = RecordingOutbox()
    ctx = make_context(inbound_params("hi", MessagingServiceSid=SERVICE_SID), outbox)
    assert ctx.reply_from == From(messaging_service_sid=SERVICE_SID)

    await ctx.reply("hello")
    (sent,) = outbox.messages
    assert (sent.to, sent.from_, sent.messaging_service_sid) == (USER, None, SERVICE_SID)


async def test_whatsapp_reply_keeps_the_prefix_on_both_ends() -> None:
    outbox = RecordingOutbox()
    params = inbound_params("hi", From=f"whatsapp:{USER}", To=f"whatsapp:{BOT_NUMBER}")
    ctx = make_context(params, outbox)
    await ctx.reply("hello")
    (sent,) = outbox.messages
    assert sent.to == f"whatsapp:{USER}"
    assert sent.from_ == f"whatsapp:{BOT_NUMBER}"


async def test_keys_count_every_message_of_the_handler() -> None:
    outbox = RecordingOutbox()
    params = inbound_params("hi")
    ctx = make_context(params, outbox)
    await ctx.reply("one")
    await ctx.send(OTHER_USER, "two")
    await ctx.reply(media_urls=["https://example.com/a.png"])
    sid = params["MessageSid"]
    assert [m.idempotency_key for m in outbox.messages] == [f"{sid}:1", f"{sid}:2", f"{sid}:3"]

    # A re-run of the same handler (a fresh context for the same message) repeats the keys.
    rerun = make_context(params, outbox)
    await rerun.reply("one")
    assert outbox.messages[-1].idempotency_key == f"{sid}:1"


async def test_send_defaults_to_the_reply_sender_and_can_override_it() -> None:
    outbox = RecordingOutbox()
    ctx = make_context(inbound_params("hi"), outbox)
    await ctx.send(OTHER_USER, "default sender")
    await ctx.send(OTHER_USER, "by number", from_=OTHER_NUMBER)
    await ctx.send(OTHER_USER, "by service", messaging_service_sid=SERVICE_SID)
    assert [(m.to, m.from_, m.messaging_service_sid) for m in outbox.messages] == [
        (OTHER_USER, BOT_NUMBER, None),
        (OTHER_USER, OTHER_NUMBER, None),
        (OTHER_USER, None, SERVICE_SID),
    ]


async def test_media_urls_are_passed_through() -> None:
    outbox = RecordingOutbox()
    ctx = make_context(inbound_params("hi"), outbox)
    await ctx.reply("look", media_urls=iter(["https://example.com/a.png", "https://e.com/b"]))
    (sent,) = outbox.messages
    assert sent.media_urls == ("https://example.com/a.png", "https://e.com/b")
    assert sent.body == "look"


async def test_send_to_an_invalid_address_raises_send_error() -> None:
    outbox = RecordingOutbox()
    ctx = make_context(inbound_params("hi"), outbox)
    with pytest.raises(SendError, match="cannot send to"):
        await ctx.send("5550001111", "no plus")
    with pytest.raises(SendError, match="cannot send to"):
        await ctx.send("messenger:+15550001111", "unknown channel")
    assert outbox.messages == []


async def test_a_message_needs_a_body_or_media() -> None:
    outbox = RecordingOutbox()
    ctx = make_context(inbound_params("hi"), outbox)
    with pytest.raises(SendError, match="body, media_urls or a content_sid"):
        await ctx.reply()
    assert outbox.messages == []


def test_context_exposes_message_session_intent_and_slots() -> None:
    outbox = RecordingOutbox()
    params = inbound_params("order 42")
    ctx = make_context(params, outbox, intent="order", slots={"order_id": "42"})
    assert ctx.message.sid == params["MessageSid"]
    assert ctx.message.body == "order 42"
    assert ctx.intent == "order"
    assert ctx.slots == {"order_id": "42"}
    assert ctx.session == {}
    assert make_context(params, outbox).slots == {}


async def test_send_to_another_channel_uses_the_same_number_on_that_channel() -> None:
    outbox = RecordingOutbox()
    message = parse_inbound_message(
        inbound_params("hi", From="whatsapp:+15550001111", To="whatsapp:+15550002222")
    )
    ctx = Context(message, {}, Messenger(outbox, From()))
    await ctx.send("+15550003333", "by SMS")
    await ctx.send("whatsapp:+15550003333", "by WhatsApp")
    assert [(m.from_, m.to) for m in outbox.messages] == [
        ("+15550002222", "+15550003333"),
        ("whatsapp:+15550002222", "whatsapp:+15550003333"),
    ]
