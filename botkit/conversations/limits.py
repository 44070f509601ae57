"""Twilio's Conversations limits, checked before the request so the caller gets the error
without a round trip (and without a half-done multi-step flow).

From twilio-facts.md: at most 50 SMS/WhatsApp participants per conversation; Attributes 16 KB
on a conversation and 4 KB on a participant or a message. Sizes are bytes of the UTF-8 JSON we
send, which is exactly what Twilio measures since we do the encoding. Twilio stays the
authority: its answers to the same violations map to the same exceptions (errors.py), which
covers races (two processes adding the 50th phone at once) and callers without a mirror.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botkit.conversations.errors import (
    NON_CHAT_LIMIT,
    AttributesOwner,
    AttributesTooLarge,
    TooManyParticipants,
)


@dataclass(frozen=True)
class ConversationLimits:
    """The limits the client enforces; change them if Twilio raises yours."""

    non_chat_participants: int = 50
    conversation_attributes: int = 16 * 1024
    participant_attributes: int = 4 * 1024
    message_attributes: int = 4 * 1024

    def attributes_limit(self, owner: AttributesOwner) -> int:
        if owner == "conversation":
            return self.conversation_attributes
        if owner == "participant":
            return self.participant_attributes
        return self.message_attributes


def encode_attributes(
    attributes: Mapping[str, Any], owner: AttributesOwner, limits: ConversationLimits | None
) -> str:
    """Attributes as the JSON string Twilio takes; AttributesTooLarge when over the limit
    (unchecked when ``limits`` is None). TypeError if a value is not JSON-serialisable."""
    encoded = json.dumps(dict(attributes), separators=(",", ":"), ensure_ascii=False)
    if limits is not None:
        size = len(encoded.encode())
        limit = limits.attributes_limit(owner)
        if size > limit:
            raise AttributesTooLarge(
                f"{owner} Attributes are {size} bytes of JSON; Twilio allows {limit} "
                f"({limit // 1024} KB)",
                owner=owner,
                size=size,
                limit=limit,
            )
    return encoded


def check_room_for_phone(known_phones: int, limits: ConversationLimits | None) -> None:
    """Refuse a 51st SMS/WhatsApp participant. ``known_phones`` comes from the participant
    mirror; it may undercount (a mirror that never saw some adds) but never overcounts, so a
    refusal here is always one Twilio would have made."""
    if limits is not None and known_phones >= limits.non_chat_participants:
        raise TooManyParticipants(
            f"a conversation can have at most {limits.non_chat_participants} SMS/WhatsApp "
            f"participants, and this one has {known_phones}",
            code=NON_CHAT_LIMIT,
        )
