"""Conversations v1 resources as pydantic models, built from the SDK's instances or a webhook.

The SDK hands back untyped instances whose Attributes are a JSON *string* and whose participant
channel hides in a ``messaging_binding`` dict. Handlers should not parse either, so the models
decode Attributes into a dict and name each participant's channel (``kind``) once, here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from botkit.twilio.conversation_events import ConversationMedia

#: ``initializing`` is read-only: Twilio reports it, nobody can set it.
ConversationState = Literal["initializing", "active", "inactive", "closed"]
SettableState = Literal["active", "inactive", "closed"]

#: How a participant takes part. ``group_mms``: a phone in a group MMS (an Address without a
#: ProxyAddress of its own; the group's number is a chat participant's ProjectedAddress).
ParticipantKind = Literal["sms", "whatsapp", "chat", "group_mms"]


def parse_attributes(raw: str | None) -> dict[str, Any]:
    """Attributes as a dict. Twilio stores any JSON; a value that is not an object (set by some
    other tool) is kept under ``"value"`` rather than dropped, and unset reads as ``{}``."""
    if raw is None or raw == "":
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"value": raw}
    return value if isinstance(value, dict) else {"value": value}


class ConversationTimers(BaseModel):
    """When the Timers.Inactive / Timers.Closed set on the conversation will fire (UTC)."""

    model_config = ConfigDict(frozen=True)

    date_inactive: datetime | None = None
    date_closed: datetime | None = None


class Conversation(BaseModel):
    model_config = ConfigDict(frozen=True)

    sid: str
    account_sid: str | None = None
    chat_service_sid: str | None = None
    messaging_service_sid: str | None = None
    unique_name: str | None = None
    friendly_name: str | None = None
    attributes: dict[str, Any] = {}
    state: ConversationState = "active"
    timers: ConversationTimers = ConversationTimers()
    date_created: datetime | None = None
    date_updated: datetime | None = None

    @classmethod
    def from_sdk(cls, instance: Any) -> Conversation:
        timers = instance.timers or {}
        return cls(
            sid=instance.sid,
            account_sid=instance.account_sid,
            chat_service_sid=instance.chat_service_sid,
            messaging_service_sid=instance.messaging_service_sid,
            unique_name=instance.unique_name,
            friendly_name=instance.friendly_name,
            attributes=parse_attributes(instance.attributes),
            state=instance.state or "active",
            timers=ConversationTimers(
                date_inactive=timers.get("date_inactive"), date_closed=timers.get("date_closed")
            ),
            date_created=instance.date_created,
            date_updated=instance.date_updated,
        )


class Participant(BaseModel):
    """A conversation member: a phone (SMS, WhatsApp, group MMS) or a chat identity."""

    model_config = ConfigDict(frozen=True)

    sid: str
    conversation_sid: str
    kind: ParticipantKind
    address: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    identity: str | None = None
    attributes: dict[str, Any] = {}
    role_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None

    @property
    def author(self) -> str:
        """What Twilio writes as the Author of this participant's messages: the chat identity,
        or the phone's address. The participant mirror looks "who wrote" up by it."""
        return self.identity or self.address or ""

    @property
    def is_phone(self) -> bool:
        """Counts against the conversation's non-chat participant limit."""
        return self.address is not None

    @classmethod
    def from_sdk(cls, instance: Any) -> Participant:
        binding: Mapping[str, Any] = instance.messaging_binding or {}
        return cls.build(
            sid=instance.sid,
            conversation_sid=instance.conversation_sid,
            identity=instance.identity,
            address=binding.get("address"),
            proxy_address=binding.get("proxy_address"),
            projected_address=binding.get("projected_address"),
            attributes=parse_attributes(instance.attributes),
            role_sid=instance.role_sid,
            date_created=instance.date_created,
            date_updated=instance.date_updated,
        )

    @classmethod
    def from_webhook(cls, params: Mapping[str, str]) -> Participant:
        """From an onParticipantAdded/Updated/Removed post-event's form fields.

        For the webhook route (item 2): ``mirror.apply_added(Participant.from_webhook(form))``.
        Raises KeyError when ParticipantSid or ConversationSid is missing.
        """
        return cls.build(
            sid=params["ParticipantSid"],
            conversation_sid=params["ConversationSid"],
            identity=params.get("Identity") or None,
            address=params.get("MessagingBinding.Address") or None,
            proxy_address=params.get("MessagingBinding.ProxyAddress") or None,
            projected_address=params.get("MessagingBinding.ProjectedAddress") or None,
            attributes=parse_attributes(params.get("Attributes")),
            role_sid=params.get("RoleSid") or None,
            date_created=_webhook_date(params.get("DateCreated")),
            date_updated=_webhook_date(params.get("DateUpdated")),
        )

    @classmethod
    def build(cls, **fields: Any) -> Participant:
        """A participant whose ``kind`` follows from its binding fields."""
        return cls(
            kind=participant_kind(fields.get("address"), fields.get("proxy_address")), **fields
        )


def participant_kind(address: str | None, proxy_address: str | None) -> ParticipantKind:
    if address is None:
        return "chat"
    if address.startswith("whatsapp:"):
        return "whatsapp"
    return "sms" if proxy_address is not None else "group_mms"


def _webhook_date(raw: str | None) -> datetime | None:
    """Webhook dates are ISO 8601 with milliseconds and ``Z``; a bad one is left out."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


#: One attachment; the same shape as in a webhook, so there is one model for it.
MediaItem = ConversationMedia


class ConversationMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    sid: str
    conversation_sid: str
    index: int
    author: str | None = None
    body: str | None = None
    attributes: dict[str, Any] = {}
    media: list[MediaItem] = []
    content_sid: str | None = None
    #: The author's participant; None for messages the API wrote as ``system`` or another name.
    participant_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None

    @classmethod
    def from_sdk(cls, instance: Any) -> ConversationMessage:
        return cls(
            sid=instance.sid,
            conversation_sid=instance.conversation_sid,
            index=instance.index if instance.index is not None else -1,
            author=instance.author,
            body=instance.body,
            attributes=parse_attributes(instance.attributes),
            media=[MediaItem.model_validate(item) for item in instance.media or []],
            content_sid=instance.content_sid,
            participant_sid=instance.participant_sid,
            date_created=instance.date_created,
            date_updated=instance.date_updated,
        )


class MessagePage(BaseModel):
    """One page of messages and the cursor for the next (None on the last page).

    The cursor is Twilio's absolute ``meta.next_page_url``: a string a handler can keep in its
    session and hand back to ``ConversationsClient.message_page(after=...)`` later.
    """

    model_config = ConfigDict(frozen=True)

    messages: list[ConversationMessage]
    next_page: str | None = None
