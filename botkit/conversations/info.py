"""The conversation a handler sees: its names, attributes, state and participants, fetched once
when the handler is about to run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botkit.conversations.models import Participant
from botkit.twilio.conversation_events import (
    ConversationState,
)


@dataclass(frozen=True)
class ConversationInfo:
    """The conversation a message was added to, as known when the handler started."""

    sid: str
    unique_name: str | None = None
    friendly_name: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    state: ConversationState | None = None
    participants: tuple[Participant, ...] = ()

    def participant(self, key: str) -> Participant | None:
        """A participant by SID, chat identity or phone address."""
        return next((p for p in self.participants if key in (p.sid, p.identity, p.address)), None)


