"""The WhatsApp shop, assembled: templates and records opened at startup, then the routers of
each job (browsing and cart, checkout, shipping)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from botkit import Bot
from bots.whatsapp_shop import config
from bots.whatsapp_shop.browsing import browsing_router
from bots.whatsapp_shop.checkout import checkout_router
from bots.whatsapp_shop.records import ShopRecords
from bots.whatsapp_shop.shipping import shipping_router
from bots.whatsapp_shop.templates import ShopTemplates


@dataclass(frozen=True)
class Shop:
    bot: Bot
    records: ShopRecords
    templates: ShopTemplates


def build(owners: Sequence[str] | None = None, media_url: str | None = None) -> Shop:
    """The bot and what it keeps; arguments default to the environment (see config.py)."""
    owner_numbers = (
        tuple(config.owner_number(o, "owners") for o in owners)
        if owners is not None
        else config.owners()
    )
    templates = ShopTemplates(
        config.checked_media_url(media_url, "media_url") if media_url else config.media_url()
    )
    bot = Bot("whatsapp_shop")
    records = ShopRecords.of(bot, config.order_retention())
    templates.attach(bot)
    bot.include(shipping_router(bot, records, owner_numbers))
    bot.include(checkout_router(templates, records))
    bot.include(browsing_router(templates))
    return Shop(bot, records, templates)
