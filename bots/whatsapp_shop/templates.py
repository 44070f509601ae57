"""The shop's Content templates: what gives its WhatsApp messages pictures and buttons.

Templates are created once in the Twilio account and sent by SID. At startup the shop looks
its templates up by friendly name (``leafco_product``...) and creates the missing ones, in
Twilio or, in development, in the sandbox; so a fresh account works on day one and a restart
never makes duplicates. Each has a ``twilio/text`` form too: an SMS handset gets that.

Button titles and ids avoid the compliance keywords: a "Cancel" button would send CANCEL,
which carriers and botkit read as STOP, unsubscribing the customer. "Not now" is safe.

``shipping`` is the template WhatsApp must approve (a utility template): it is the bot's
``whatsapp_template``, which the dispatcher sends instead of free text once the customer has
not written for 24 hours. Its one variable is the text the bot wanted to send.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioException
from twilio.rest.content.v1.content import ContentList

from botkit import Bot, ConfigError, Startup, WhatsAppTemplate
from bots.whatsapp_shop.config import DEFAULT_MEDIA_URL, default_media_url

PREFIX = "leafco_"


def _quick_reply(body: str, text: str, buttons: Mapping[str, str]) -> dict[str, Any]:
    """A quick-reply template (``buttons``: title -> the id the bot receives when tapped)."""
    return {
        "twilio/quick-reply": {
            "body": body,
            "actions": [{"title": title, "id": id_} for title, id_ in buttons.items()],
        },
        "twilio/text": {"body": text},
    }


def definitions(media_url: str) -> dict[str, dict[str, Any]]:
    """Each template's types, by the short name the bot uses."""
    return {
        "welcome": _quick_reply(
            "Welcome to Leaf & Co, fine teas delivered! What would you like to do?",
            "Welcome to Leaf & Co! Text CATALOG, CART or CHECKOUT.",
            {"Browse teas": "catalog", "View cart": "cart", "Checkout": "checkout"},
        ),
        # {{1}} name, {{2}} price, {{3}} blurb, {{4}} image file, {{5}} sku, {{6}} next sku.
        "product": {
            "twilio/card": {
                "title": "{{1}} - {{2}}",
                "subtitle": "{{3}}",
                "media": [media_url + "/{{4}}"],
                "actions": [
                    {"type": "QUICK_REPLY", "title": "Add to cart", "id": "add {{5}}"},
                    {"type": "QUICK_REPLY", "title": "Next tea", "id": "show {{6}}"},
                    {"type": "QUICK_REPLY", "title": "View cart", "id": "cart"},
                ],
            },
            "twilio/text": {"body": "{{1}} - {{2}}: {{3}} Text ADD {{5}} to buy it."},
        },
        # {{1}} the cart's lines, {{2}} the total.
        "cart": _quick_reply(
            "Your cart:\n{{1}}\nTotal: {{2}}",
            "Your cart:\n{{1}}\nTotal: {{2}}\nText CHECKOUT to order.",
            {"Checkout": "checkout", "Keep browsing": "catalog", "Empty cart": "empty"},
        ),
        # {{1}} lines, {{2}} total, {{3}} delivery address.
        "confirm": _quick_reply(
            "Please check your order:\n{{1}}\nTotal: {{2}}\nDeliver to: {{3}}",
            "Your order:\n{{1}}\nTotal: {{2}}\nDeliver to: {{3}}\nText CONFIRM to order.",
            {"Confirm order": "confirm", "Not now": "not now"},
        ),
        "shipping": {"twilio/text": {"body": "Leaf & Co order update: {{1}}"}},
    }


class ShopTemplates:
    """The templates' SIDs, known once the bot has started. ``media_url`` None: chosen from the
    bot's settings at startup (``config.default_media_url``)."""

    def __init__(self, media_url: str | None) -> None:
        self.media_url = media_url
        self._sids: dict[str, str] = {}

    def sid(self, name: str) -> str:
        try:
            return self._sids[name]
        except KeyError:
            raise LookupError(
                f"template {name!r} is not ready: the shop creates its templates when it starts"
            ) from None

    def attach(self, bot: Bot) -> None:
        async def prepare(startup: Startup) -> None:
            if self.media_url is None:
                self.media_url = default_media_url(startup.settings)
            await self.ensure(startup.twilio)
            bot.whatsapp_template = WhatsAppTemplate(content_sid=self.sid("shipping"))

        bot.on_startup(prepare)

    async def ensure(self, twilio: Any) -> None:
        """Find each template by friendly name, creating the missing ones."""
        try:
            existing = {
                content.friendly_name: content.sid
                for content in await twilio.content.v1.contents.list_async()
            }
            for name, types in definitions(self.media_url or DEFAULT_MEDIA_URL).items():
                friendly = PREFIX + name
                sid = existing.get(friendly)
                if sid is None:
                    request = {"friendly_name": friendly, "language": "en", "types": types}
                    created = await twilio.content.v1.contents.create_async(
                        ContentList.ContentCreateRequest(request)
                    )
                    sid = created.sid
                self._sids[name] = str(sid)
        except (TwilioException, aiohttp.ClientError, OSError, TimeoutError) as exc:
            problem = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(
                f"the shop cannot set up its Content templates in Twilio: {problem}"
            ) from None
