"""WhatsApp list pickers end to end: a Content template of type twilio/list-picker reaches the
phone as its items, a phone picks one, and the bot gets ListId and ListTitle on
``ctx.message.whatsapp``; Click-to-WhatsApp referrals are modelled too."""

from __future__ import annotations

import pytest

from botkit import Bot
from botkit.testing import Tester
from tests.support import sizes_bot


@pytest.fixture
def bot() -> Bot:
    return sizes_bot.build()


async def test_a_phone_picks_a_list_item_and_the_bot_reads_it(bot: Bot) -> None:
    async with Tester(bot) as tester:
        phone = tester.phone("+15550001111", whatsapp=True)
        await phone.send("hi")
        menu = await phone.expect_reply(equals="Which size, Ada?", buttons=["Small", "Large"])
        assert {b.kind for b in menu.buttons} == {"LIST_ITEM"}
        await phone.pick("Large")
        await phone.expect_reply(equals="You chose Large (size:l)")
        await phone.pick("size:s")  # by id, as tap() takes a payload
        await phone.expect_reply(equals="You chose Small (size:s)")


async def test_on_sms_the_list_is_its_text_form(bot: Bot) -> None:
    async with Tester(bot) as tester:
        phone = tester.phone("+15550001111")
        await phone.send("hi")
        await phone.expect_reply(equals="Which size, Ada? Reply SMALL or LARGE.", buttons=[])


async def test_a_list_picker_needs_items_with_ids(bot: Bot) -> None:
    async with Tester(bot) as tester:
        broken = {"twilio/list-picker": {"body": "x", "button": "Pick", "items": [{"item": "A"}]}}
        with pytest.raises(ValueError, match="needs an item and an id"):
            tester.add_template(broken)
        with pytest.raises(ValueError, match="needs a button"):
            tester.add_template({"twilio/list-picker": {"body": "x", "items": []}})


async def test_a_referral_reaches_the_bot(bot: Bot) -> None:
    async with Tester(bot) as tester:
        phone = tester.phone("+15550001111", whatsapp=True)
        await tester.client.text(
            phone.address,
            "whatsapp:" + tester.bot_number,
            "Hi, I saw your ad",
            extra={
                "referral_headline": "Spring teas",
                "referral_source_url": "https://fb.me/ad",
                "referral_source_type": "ad",
            },
        )
        await phone.expect_reply(equals="Welcome from Spring teas")
