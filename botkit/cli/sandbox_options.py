"""``botkit sandbox``'s options that define what the account owns: numbers and Messaging Services.

Bad values are the user's to fix: one line naming the option and what it takes.
"""

from __future__ import annotations

import re

from botkit.errors import ConfigError
from botkit.sandbox.config import MessagingService
from botkit.twilio.address import parse_address

_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
SERVICE_FORM = "MG<32 hex>=+1555...,whatsapp:+1555..."


def messaging_service(spec: str) -> MessagingService:
    """``MG...=+15550001111,whatsapp:+15550001112``: a service and its sender pool."""
    sid, _, pool = (part.strip() for part in spec.partition("="))
    if not _SERVICE_SID.match(sid):
        raise ConfigError(f"--messaging-service: {sid!r} is not a service SID (use {SERVICE_FORM})")
    numbers = [number.strip() for number in pool.split(",") if number.strip()]
    if not numbers:
        raise ConfigError(f"--messaging-service: {sid} has no sender numbers (use {SERVICE_FORM})")
    for number in numbers:
        try:
            parse_address(number)
        except ValueError as exc:
            raise ConfigError(f"--messaging-service: {number!r}: {exc}") from None
    return MessagingService(sid=sid, numbers=numbers)
