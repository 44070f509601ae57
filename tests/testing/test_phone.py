"""Phones: texting, media, locations, button taps, and what they expect back, through the real
pipeline (the sandbox posts signed webhooks to the bot, replies go through the outbound worker)."""

from __future__ import annotations

import pytest

from botkit import Bot, Context
from botkit.testing import Tester

MENU = "HX" + "a1" * 16
MENU_TYPES = {
    "twilio/quick-reply": {
        "body": "What would you like, {{1}}?",
        "actions": [{"title": "Pizza", "id": "menu:pizza"}, {"title": "Salad", "id": "menu:salad"}],
    },
    "twilio/text": {"body": "What would you like, {{1}}? Reply PIZZA or SALAD."},
}


@pytest.fixture
def bot() -> Bot:
    bot = Bot("phones")

    @bot.intent("greet", keywords=["hi"], channel=["sms", "mms", "whatsapp"])
    async def greet(ctx: Context) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"Hello! visit {ctx.session['n']}")

    @bot.intent("menu", keywords=["menu"], channel=["sms", "whatsapp"])
    async def menu(ctx: Context) -> None:
        await ctx.reply(content_sid=MENU, content_variables={"1": "friend"})

    @bot.intent("cat", keywords=["cat"])
    async def cat(ctx: Context) -> None:
        await ctx.reply("Here is a cat", media_urls=["https://example.com/cat.jpg"])

    @bot.intent("quiet", keywords=["shh"])
    async def quiet(ctx: Context) -> None:
        ctx.session["quiet"] = True

    @bot.fallback
    async def describe(ctx: Context) -> None:
        message = ctx.message
        info = message.whatsapp
        if info is not None and info.button_payload:
            await ctx.reply(f"tapped {info.button_payload} ({message.body})")
        elif info is not None and info.location is not None:
            where = info.location
            await ctx.reply(f"at {where.latitude},{where.longitude} {where.label or ''}".strip())
        elif message.media:
            kinds = ", ".join(m.content_type for m in message.media)
            await ctx.reply(f"{message.channel} with {len(message.media)} media: {kinds}")
        else:
            await ctx.reply(f"echo: {message.body}")

    return bot


async def test_the_issue_example(tester: Tester) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("hi")
    await phone.expect_reply(contains="Hello")


async def test_replies_are_read_in_order_and_sessions_persist(tester: Tester) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("hi")
    await phone.send("hi")
    first = await phone.expect_reply(equals="Hello! visit 1")
    second = await phone.expect_reply(matches=r"visit \d$")
    assert second.body == "Hello! visit 2"
    assert (first.sender, first.recipient, first.channel) == (
        tester.bot_number,
        "+15550001111",
        "sms",
    )
    assert [m.body for m in phone.replies] == ["Hello! visit 1", "Hello! visit 2"]
    await phone.expect_no_reply()


async def test_each_phone_has_its_own_replies_and_session(tester: Tester) -> None:
    alice, bob = tester.phone("+15550001111"), tester.phone("+15550001112")
    await alice.send("hi")
    await alice.expect_reply(equals="Hello! visit 1")
    await bob.send("hi")
    await bob.expect_reply(equals="Hello! visit 1")
    await alice.send("hi")
    await alice.expect_reply(equals="Hello! visit 2")
    await bob.expect_no_reply()
    assert tester.phone("+15550001111") is alice


async def test_sms_and_whatsapp_of_one_number_are_two_conversations(tester: Tester) -> None:
    sms = tester.phone("+15550001111")
    whatsapp = tester.phone("+15550001111", whatsapp=True)
    assert whatsapp.address == "whatsapp:+15550001111" and whatsapp.whatsapp and not sms.whatsapp
    await whatsapp.send("hi")
    reply = await whatsapp.expect_reply(equals="Hello! visit 1")
    assert (reply.channel, reply.sender) == ("whatsapp", "whatsapp:" + tester.bot_number)
    await sms.send("hi")
    await sms.expect_reply(equals="Hello! visit 1")
    assert tester.phone("whatsapp:+15550001111") is whatsapp


async def test_media_both_ways(tester: Tester) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("look", media=["https://example.com/a.png", "https://example.com/b.mp4"],
                     media_types=["image/png", "video/mp4"])
    await phone.expect_reply(equals="mms with 2 media: image/png, video/mp4", media=False)
    await phone.send("cat")
    reply = await phone.expect_reply(contains="cat", media="cat.jpg")
    assert reply.media_urls == ["https://example.com/cat.jpg"]
    assert reply.channel == "mms"


async def test_whatsapp_media_and_location(tester: Tester) -> None:
    phone = tester.phone("+15550001111", whatsapp=True)
    await phone.send(media=["https://example.com/receipt.pdf"], media_types=["application/pdf"])
    await phone.expect_reply(equals="whatsapp with 1 media: application/pdf")
    await phone.send_location(40.7128, -74.006, label="Home", address="1 Main St")
    await phone.expect_reply(equals="at 40.7128,-74.006 Home")


async def test_a_location_needs_a_whatsapp_phone(tester: Tester) -> None:
    with pytest.raises(ValueError, match="only WhatsApp phones share locations"):
        await tester.phone("+15550001111").send_location(1.0, 2.0)


async def test_an_empty_message_is_refused_before_it_is_sent(tester: Tester) -> None:
    with pytest.raises(ValueError, match="needs text or media"):
        await tester.phone("+15550001111").send("")


async def test_quick_reply_buttons_are_shown_and_tapped(tester: Tester) -> None:
    tester.add_template(MENU_TYPES, sid=MENU)
    phone = tester.phone("+15550001111", whatsapp=True)
    await phone.send("menu")
    menu = await phone.expect_reply(
        equals="What would you like, friend?", buttons=["Pizza", "Salad"], template=MENU
    )
    assert [(b.title, b.payload) for b in menu.buttons] == [
        ("Pizza", "menu:pizza"),
        ("Salad", "menu:salad"),
    ]
    tap = await phone.tap("Salad")
    assert tap.body == "Salad"
    await phone.expect_reply(equals="tapped menu:salad (Salad)")
    await phone.tap("menu:pizza")  # by payload as well
    await phone.expect_reply(equals="tapped menu:pizza (Pizza)")


async def test_sms_gets_the_text_form_of_a_template_without_buttons(tester: Tester) -> None:
    tester.add_template(MENU_TYPES, sid=MENU)
    phone = tester.phone("+15550001111")
    await phone.send("menu")
    await phone.expect_reply(contains="Reply PIZZA or SALAD", buttons=[], template=MENU)


async def test_expect_no_reply_waits_for_the_bot_then_checks(tester: Tester) -> None:
    phone = tester.phone("+15550001111")
    await phone.send("shh")
    await phone.expect_no_reply()
    session = await tester.session(phone)
    assert session == {"quiet": True}


async def test_templates_are_checked_when_added(tester: Tester) -> None:
    with pytest.raises(ValueError, match="HX followed by 32 hex"):
        tester.add_template(MENU_TYPES, sid="HX123")
    with pytest.raises(ValueError, match="bad template: twilio/quick-reply needs at least one"):
        tester.add_template({"twilio/quick-reply": {"body": "x", "actions": []}})
    assert tester.add_template({"twilio/text": {"body": "hi"}}).startswith("HX")


async def test_phone_numbers_are_checked(tester: Tester) -> None:
    with pytest.raises(ValueError, match=r"phone number: '\+1 555 000 1111' is not in E.164"):
        tester.phone("+1 555 000 1111")
