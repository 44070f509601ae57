"""Our typed arguments in the SDK's terms: ISO 8601 durations, channel prefixes, the webhook
header, and keyword arguments with unset values left out.

Kept apart from the client so its methods read as what they do, not as string plumbing.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from botkit.twilio.address import parse_address

_DURATION = re.compile(
    r"^P(?!$)(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$", re.IGNORECASE
)


def iso_duration(value: timedelta | str) -> str:
    """``timedelta(minutes=10)`` -> ``PT10M``; a string must already be an ISO 8601 duration.

    Twilio's minimums (1 minute inactive, 10 minutes closed) are left to Twilio: the sandbox
    does not enforce them, so tests can watch a timer fire.
    """
    if isinstance(value, str):
        if not _DURATION.match(value.strip()):
            raise ValueError(f"{value!r} is not an ISO 8601 duration such as PT10M or P1D")
        return value.strip().upper()
    if value <= timedelta(0):
        raise ValueError(f"a conversation timer must be positive, not {value}")
    days, rest = value.days, value - timedelta(days=value.days)
    seconds = rest.total_seconds()
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    text = "P" + (f"{days}D" if days else "")
    clock = ""
    if hours:
        clock += f"{int(hours)}H"
    if minutes:
        clock += f"{int(minutes)}M"
    if seconds:
        clock += f"{seconds:g}S"
    return text + ("T" + clock if clock else "")


def sms_address(raw: str, what: str) -> str:
    """An SMS address in Twilio's spelling; ValueError for a whatsapp: one or a bad number."""
    address = parse_address(raw)
    if address.is_whatsapp:
        raise ValueError(f"{what} {raw!r} is a WhatsApp address; use add_whatsapp")
    return str(address)


def whatsapp_address(raw: str) -> str:
    """``+1555...`` or ``whatsapp:+1555...`` -> ``whatsapp:+1555...`` (both ends of a WhatsApp
    binding must carry the prefix, or Twilio refuses the mixed pair)."""
    address = parse_address(raw)
    return f"whatsapp:{address.number}"


def webhook_header(enabled: bool) -> dict[str, str]:
    """X-Twilio-Webhook-Enabled: REST writes fire Conversations webhooks only with it. Our own
    writes default to quiet, so the bot's actions do not come back to it as events."""
    return {"x_twilio_webhook_enabled": "true"} if enabled else {}


def given(**kwargs: Any) -> dict[str, Any]:
    """The keyword arguments that are not None: the SDK's ``values.unset`` is their absence."""
    return {key: value for key, value in kwargs.items() if value is not None}
