"""The shop's own settings, read from the environment when the bot module is imported.

``SHOP_OWNERS``: comma-separated phone numbers allowed to text shop commands to the bot
("SHIPPED LC-0001 <tracking URL>"); unset, nobody can. ``SHOP_MEDIA_URL``: where the product
images are served (the templates append each image's file name); unset, the sandbox's bundled
sample pictures in development mode (so the demo shows them offline), else DEFAULT_MEDIA_URL.
``SHOP_ORDER_RETENTION``: days an order is kept (default 365, for returns and the books); a
customer's are also erased at once by ``botkit privacy erase``.
"""

from __future__ import annotations

import os

from botkit import ConfigError, Settings, parse_address

DEFAULT_MEDIA_URL = "https://example.com/leafco/images"
#: Where the development sandbox serves the shop's sample pictures.
SANDBOX_SAMPLES = "/sandbox/static/samples/leafco"
DEFAULT_ORDER_RETENTION_DAYS = 365.0


def owners() -> tuple[str, ...]:
    raw = os.environ.get("SHOP_OWNERS", "")
    return tuple(owner_number(part, "SHOP_OWNERS") for part in raw.split(",") if part.strip())


def owner_number(raw: str, source: str) -> str:
    """A phone number as the bot sees senders (no ``whatsapp:``): owners may use either."""
    try:
        return parse_address(raw.strip()).number
    except ValueError as exc:
        raise ConfigError(f"{source}: {raw.strip()!r} is not a phone number ({exc})") from None


def media_url() -> str | None:
    """SHOP_MEDIA_URL, or None to use ``default_media_url`` once the bot's settings are known."""
    raw = os.environ.get("SHOP_MEDIA_URL")
    return checked_media_url(raw, "SHOP_MEDIA_URL") if raw else None


def default_media_url(settings: Settings) -> str:
    """The sandbox's sample pictures in development (no Twilio account, a sandbox to serve
    them), the placeholder address otherwise."""
    if settings.development and settings.twilio_base_url:
        return settings.twilio_base_url + SANDBOX_SAMPLES
    return DEFAULT_MEDIA_URL


def checked_media_url(url: str, source: str) -> str:
    if not url.startswith("https://"):
        raise ConfigError(f"{source}: WhatsApp fetches media over https, got {url!r}")
    return url.rstrip("/")


def order_retention() -> float:
    """Seconds an order is kept."""
    raw = os.environ.get("SHOP_ORDER_RETENTION", "")
    try:
        days = float(raw) if raw.strip() else DEFAULT_ORDER_RETENTION_DAYS
    except ValueError:
        days = -1.0
    if not days > 0:
        raise ConfigError(f"SHOP_ORDER_RETENTION: days > 0, like 365, got {raw!r}")
    return days * 24 * 3600
