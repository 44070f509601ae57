"""What kind of sender an address is, which decides its default throughput on Twilio.

Pure and shared on purpose: the sandbox enforces per-sender rates and the outbound worker keeps to
them, and the two must classify a sender alike or a correct outbound worker meets a strict sandbox's
429s. Classifying is not validating: anything unrecognised counts as a long code, the slowest
kind, so a sender we cannot place is never driven faster than the strictest default.
"""

from __future__ import annotations

import re
from typing import Literal

SenderKind = Literal[
    "long_code", "toll_free", "short_code", "messaging_service", "whatsapp", "conversation"
]

SENDER_KINDS: tuple[SenderKind, ...] = (
    "long_code",
    "toll_free",
    "short_code",
    "messaging_service",
    "whatsapp",
    "conversation",
)

# North American toll-free area codes (US and Canada share them).
_TOLL_FREE = re.compile(r"^\+1(800|833|844|855|866|877|888)\d{7}$")


def sender_kind(sender: str) -> SenderKind:
    """long_code, toll_free, short_code, messaging_service, whatsapp or conversation.

    ``MG...`` is a Messaging Service SID, ``CH...`` a Conversation (the bot posting into it),
    ``whatsapp:+...`` a WhatsApp sender, a bare string of
    3 to 8 digits a short code (the lengths ``parse_address`` accepts), ``+1`` with a toll-free
    area code a toll-free number; everything else a long code.
    """
    text = sender.strip()
    if text.startswith("MG"):
        return "messaging_service"
    if text.startswith("CH"):
        return "conversation"
    if text.lower().startswith("whatsapp:"):
        return "whatsapp"
    if text.isascii() and text.isdigit() and 3 <= len(text) <= 8:
        return "short_code"
    if _TOLL_FREE.match(text):
        return "toll_free"
    return "long_code"
