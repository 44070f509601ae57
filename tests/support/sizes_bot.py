"""A WhatsApp bot with a list picker, for the tests of every place that shows one (the testing
kit's phones, ``botkit chat``, the simulator): it creates its template at startup, as a real bot
would, answers a pick with what was picked, and greets a Click-to-WhatsApp visitor by the ad.

``botkit chat tests.support.sizes_bot --whatsapp`` runs it (``bot``); tests build their own.
"""

from __future__ import annotations

from typing import Any

from twilio.rest.content.v1.content import ContentList

from botkit import Bot, Context, Startup

BUTTON = "Choose a size"
QUESTION = "Which size, {{1}}?"
SIZES: dict[str, Any] = {
    "friendly_name": "sizes",
    "language": "en",
    "types": {
        "twilio/list-picker": {
            "body": QUESTION,
            "button": BUTTON,
            "items": [
                {"item": "Small", "id": "size:s", "description": "250 g"},
                {"item": "Large", "id": "size:l", "description": "1 kg"},
            ],
        },
        "twilio/text": {"body": QUESTION + " Reply SMALL or LARGE."},
    },
}


def build() -> Bot:
    bot = Bot("sizes")
    template: dict[str, str] = {}

    @bot.on_startup
    async def create_template(startup: Startup) -> None:
        created = await startup.twilio.content.v1.contents.create_async(
            ContentList.ContentCreateRequest(SIZES)
        )
        template["sid"] = created.sid

    @bot.fallback
    async def answer(ctx: Context) -> None:
        whatsapp = ctx.message.whatsapp
        if whatsapp and whatsapp.list_id:
            await ctx.reply(f"You chose {whatsapp.list_title} ({whatsapp.list_id})")
        elif whatsapp and whatsapp.referral:
            await ctx.reply(f"Welcome from {whatsapp.referral.headline}")
        else:
            await ctx.reply(content_sid=template["sid"], content_variables={"1": "Ada"})

    return bot


bot = build()
