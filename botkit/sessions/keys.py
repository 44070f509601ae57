"""Where each session lives: the key of a 1:1 session and of a conversation's (or a participant's
within it). Kept in one place so that the pipeline, handoff and the testing kit agree."""

from __future__ import annotations

from typing import Literal

from botkit.twilio.conversation_events import MessageAdded
from botkit.twilio.inbound import InboundMessage

#: Conversation sessions: one per conversation, or one per participant within it.
SessionScope = Literal["conversation", "participant"]
SESSION_SCOPES: frozenset[str] = frozenset({"conversation", "participant"})


def session_key(bot: str, message: InboundMessage) -> str:
    """1:1 sessions: one per (bot, channel, bot address, user address). The channel is the
    address's: a photo (MMS) and a text (SMS) from the same phone are one conversation."""
    channel = "whatsapp" if message.sender.is_whatsapp else "sms"
    return "|".join((bot, channel, message.recipient.number, message.sender.number))


def conversation_session_key(bot: str, message: MessageAdded, scope: SessionScope) -> str:
    """Conversation sessions: one per (bot, conversation), or per (bot, conversation, author).
    The second part is "conversation", never a 1:1 channel, so the keys cannot collide."""
    return conversation_key(
        bot, message.conversation_sid, message.author if scope == "participant" else None
    )


def conversation_key(bot: str, conversation_sid: str, author: str | None = None) -> str:
    """The session key of a conversation, or of one author within it (``author`` given)."""
    parts = [bot, "conversation", conversation_sid]
    if author is not None:
        parts += ["participant", author]
    return "|".join(parts)


