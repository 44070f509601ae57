"""Where each session lives: the key of a 1:1 session and of a conversation's (or a participant's
within it). Kept in one place so that the pipeline, handoff and the testing kit agree.

A key never holds a phone number or a chat identity: the person's part is their pseudonym
(botkit/core/person.py), and it is always the key's last part, so that one person's sessions
are found by that suffix alone (``SessionStore.erase_person``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from botkit.core.person import Person, Pseudonym
from botkit.twilio.conversation_events import MessageAdded
from botkit.twilio.inbound import InboundMessage

#: Conversation sessions: one per conversation, or one per participant within it.
SessionScope = Literal["conversation", "participant"]
SESSION_SCOPES: frozenset[str] = frozenset({"conversation", "participant"})
#: Separates a key's parts; the person's pseudonym, when there is one, is the last.
SEPARATOR = "|"


@dataclass(frozen=True)
class SessionKeys:
    """The session keys of one bot, with people named by ``pseudonym``."""

    bot: str
    pseudonym: Pseudonym

    def direct(self, message: InboundMessage) -> str:
        """1:1 sessions: one per (bot, channel, bot address, user). The channel is the
        address's: a photo (MMS) and a text (SMS) from the same phone are one conversation."""
        channel = "whatsapp" if message.sender.is_whatsapp else "sms"
        user = self.pseudonym(message.sender.number)
        return SEPARATOR.join((self.bot, channel, message.recipient.number, user))

    def of_message(self, message: MessageAdded, scope: SessionScope) -> str:
        """Conversation sessions: one per (bot, conversation), or per (bot, conversation,
        author). The second part is "conversation", never a 1:1 channel, so the keys cannot
        collide."""
        author = message.author if scope == "participant" else None
        return self.conversation(message.conversation_sid, author)

    def conversation(self, conversation_sid: str, author: str | None = None) -> str:
        """The session key of a conversation, or of one author within it (``author`` given)."""
        parts = [self.bot, "conversation", conversation_sid]
        if author is not None:
            parts += ["participant", self.pseudonym(author)]
        return SEPARATOR.join(parts)


def belongs_to(key: str, person: Person) -> bool:
    """Whether a session is ``person``'s: one of their own (1:1, or as a participant), or the
    shared session of a conversation they take part in, which may hold what they said."""
    parts = key.split(SEPARATOR)
    shared = len(parts) == 3 and parts[1] == "conversation" and parts[2] in person.conversations
    return parts[-1] == person.digest or shared


def shared_keys(bot: str, person: Person) -> list[str]:
    """The shared sessions of the conversations ``person`` takes part in."""
    return [SEPARATOR.join((bot, "conversation", sid)) for sid in person.conversations]
