"""The form fields each Conversations webhook carries, named as Twilio names them.

Built from Twilio's webhook reference and captured requests (EventType, AccountSid,
ChatServiceSid, ConversationSid, MessageSid, Index, Author, Body, Attributes, ParticipantSid,
DateCreated with milliseconds, Source, RetryCount...). Empty values are left out rather than
sent as empty strings. Fields marked UNCONFIRMED are the sandbox's best reading of the docs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from botkit.sandbox.conversations.models import (
    ConversationRecord,
    ParticipantRecord,
    iso_millis,
    now,
)

#: Where an action came from: the REST API, a phone (by channel), or a chat client.
SOURCE_API = "API"


def source_for(participant: ParticipantRecord) -> str:
    return {"sms": "SMS", "whatsapp": "WHATSAPP"}.get(participant.kind, "SDK")


def _clean(params: dict[str, str | None]) -> dict[str, str]:
    return {key: value for key, value in params.items() if value is not None and value != ""}


def _common(conversation: ConversationRecord, source: str) -> dict[str, str | None]:
    return {
        "AccountSid": conversation.account_sid,
        "ChatServiceSid": conversation.chat_service_sid,
        "ConversationSid": conversation.sid,
        "MessagingServiceSid": conversation.messaging_service_sid,
        "Source": source,
        "RetryCount": "0",
    }


def conversation_params(conversation: ConversationRecord, source: str) -> dict[str, str]:
    return _clean(
        {
            **_common(conversation, source),
            "FriendlyName": conversation.friendly_name,
            "UniqueName": conversation.unique_name,
            "Attributes": conversation.attributes,
            "State": conversation.state,
            "DateCreated": iso_millis(conversation.date_created),
            "DateUpdated": iso_millis(conversation.date_updated),
        }
    )


def state_params(
    conversation: ConversationRecord, source: str, state_from: str, reason: str
) -> dict[str, str]:
    """onConversationStateUpdated: StateFrom, StateTo and Reason (API, TIMER; EVENT when a new
    message reactivates an inactive conversation, UNCONFIRMED)."""
    params = conversation_params(conversation, source)
    params.update(StateFrom=state_from, StateTo=conversation.state, Reason=reason)
    return params


def _binding(participant: ParticipantRecord | None) -> dict[str, str | None]:
    if participant is None:
        return {}
    return {
        "MessagingBinding.Address": participant.address,
        "MessagingBinding.ProxyAddress": participant.proxy_address,
        "MessagingBinding.ProjectedAddress": participant.projected_address,
    }


def participant_params(
    conversation: ConversationRecord, participant: ParticipantRecord, source: str, *, pre: bool
) -> dict[str, str]:
    """onParticipantAdd(ed)/Removed. The pre-event has no ParticipantSid yet."""
    return _clean(
        {
            **_common(conversation, source),
            "ParticipantSid": None if pre else participant.sid,
            "Identity": participant.identity,
            "RoleSid": participant.role_sid,
            "Attributes": participant.attributes,
            "DateCreated": iso_millis(participant.date_created),
            **_binding(participant),
        }
    )


@dataclass
class MessageFacts:
    """What a message webhook describes; for the pre-event the message does not exist yet."""

    author: str
    body: str | None
    attributes: str
    participant: ParticipantRecord | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    content_sid: str | None = None
    sid: str | None = None
    index: int | None = None
    date_created: Any = field(default_factory=now)


def message_params(
    conversation: ConversationRecord, facts: MessageFacts, source: str
) -> dict[str, str]:
    """onMessageAdd (pre: no MessageSid or Index) and onMessageAdded/Updated/Removed.

    A phone author's MessagingBinding.* fields are included (UNCONFIRMED for message events;
    Twilio documents them on conversation and participant events).
    """
    participant = facts.participant
    return _clean(
        {
            **_common(conversation, source),
            "MessageSid": facts.sid,
            "Index": str(facts.index) if facts.index is not None else None,
            "Author": facts.author,
            "Body": facts.body,
            "Attributes": facts.attributes,
            "ParticipantSid": participant.sid if participant else None,
            "DateCreated": iso_millis(facts.date_created),
            "Media": json.dumps(_media_fields(facts.media)) if facts.media else None,
            "ContentSid": facts.content_sid,
            **(_binding(participant) if participant and participant.is_phone else {}),
        }
    )


def _media_fields(media: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Webhook Media entries use Twilio's capitalised keys (Sid, ContentType, Filename, Size)."""
    return [
        {
            "Sid": item.get("sid"),
            "ContentType": item.get("content_type"),
            "Filename": item.get("filename"),
            "Size": item.get("size"),
        }
        for item in media
    ]
