"""How the bot posts into a conversation, as itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botkit.conversations.client import ConversationsClient
from botkit.conversations.models import ConversationMessage


@dataclass(frozen=True)
class ConversationWriter:
    """How the bot writes into conversations: as ``identity`` (BOTKIT_CONVERSATIONS_IDENTITY),
    which is how it recognises its own messages and never answers them, and with
    ``X-Twilio-Webhook-Enabled: true`` so other webhook listeners see its messages too."""

    client: ConversationsClient
    identity: str

    async def post(
        self, conversation_sid: str, text: str, attributes: Mapping[str, Any] | None = None
    ) -> ConversationMessage:
        return await self.client.send(
            conversation_sid,
            text,
            author=self.identity,
            attributes=attributes,
            webhook_enabled=True,
        )


