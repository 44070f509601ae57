"""The shop's own settings, read from the environment when the bot module is imported.

``SHOP_OWNERS``: comma-separated phone numbers allowed to text shop commands to the bot
("SHIPPED LC-0001 <tracking URL>"); unset, nobody can. ``SHOP_MEDIA_URL``: where the product
images are served (the templates append each image's file name).
"""

from __future__ import annotations

import os

from botkit import ConfigError, parse_address

DEFAULT_MEDIA_URL = "https://example.com/leafco/images"


def owners() -> tuple[str, ...]:
    raw = os.environ.get("SHOP_OWNERS", "")
    return tuple(owner_number(part, "SHOP_OWNERS") for part in raw.split(",") if part.strip())


def owner_number(raw: str, source: str) -> str:
    """A phone number as the bot sees senders (no ``whatsapp:``): owners may use either."""
    try:
        return parse_address(raw.strip()).number
    except ValueError as exc:
        raise ConfigError(f"{source}: {raw.strip()!r} is not a phone number ({exc})") from None


def media_url() -> str:
    return checked_media_url(os.environ.get("SHOP_MEDIA_URL", DEFAULT_MEDIA_URL), "SHOP_MEDIA_URL")


def checked_media_url(url: str, source: str) -> str:
    if not url.startswith("https://"):
        raise ConfigError(f"{source}: WhatsApp fetches media over https, got {url!r}")
    return url.rstrip("/")
