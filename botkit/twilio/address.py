"""Twilio addresses: an E.164 number with an optional channel prefix such as ``whatsapp:``.

The prefix is kept apart from the number so that code comparing, hashing or masking numbers
never has to strip it by hand, and so that a reply can rebuild exactly the address Twilio expects.
"""

from __future__ import annotations

import functools
import re
from typing import Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict

ChannelPrefix = Literal["", "whatsapp"]
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


class Address(BaseModel):
    """A parsed Twilio address. ``str(address)`` gives back Twilio's spelling."""

    model_config = ConfigDict(frozen=True)

    number: str
    prefix: ChannelPrefix = ""

    def __str__(self) -> str:
        return f"{self.prefix}:{self.number}" if self.prefix else self.number

    @property
    def is_whatsapp(self) -> bool:
        return self.prefix == "whatsapp"


@functools.lru_cache(maxsize=65_536)
def parse_address(raw: str) -> Address:
    """Parse ``+15551230123`` or ``whatsapp:+15551230123``; raise ValueError with the reason.

    Cached: a bot sees the same few numbers over and over, parsing costs tens of microseconds,
    and an Address is immutable.

    Numbers must be E.164 and possible per the ``phonenumbers`` metadata. Short codes (5-6
    digits, no plus) are accepted too, since US short codes send and receive SMS.
    """
    text = raw.strip()
    prefix: ChannelPrefix = ""
    if ":" in text:
        scheme, _, text = text.partition(":")
        if scheme.lower() != "whatsapp":
            raise ValueError(f"unsupported address scheme {scheme!r} in {raw!r}")
        prefix = "whatsapp"
    if not prefix and text.isdigit() and 3 <= len(text) <= 8:
        return Address(number=text)
    if not text.startswith("+"):
        raise ValueError(f"{raw!r} is not an E.164 number (it must start with +)")
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"{raw!r} is not a possible phone number")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if e164 != text:
        raise ValueError(f"{raw!r} is not in E.164 form (expected {e164})")
    return Address(number=e164, prefix=prefix)


def sender_problem(number: str | None, messaging_service_sid: str | None) -> str | None:
    """Why a message cannot be sent from this sender (None: it can). Checked where a send is
    asked for, so that a mistyped ``from_`` is the caller's one-line error, not a job that
    fails in a worker later (or a campaign that can never be fed)."""
    if number:
        try:
            parse_address(number)
        except ValueError as exc:
            return f"cannot send from {number!r}: {exc}"
    if messaging_service_sid and not SERVICE_SID.match(messaging_service_sid):
        return (
            f"{messaging_service_sid!r} is not a Messaging Service SID (MG + 32 hex digits)"
        )
    return None
