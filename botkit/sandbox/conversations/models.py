"""The Conversations v1 resources as the sandbox keeps them, and their JSON as Twilio shapes it.

Conversations differs from the 2010 Messages API in ways clients notice: ISO 8601 dates
(``2015-12-16T22:18:37Z``, the only form twilio-python parses into datetimes), absolute ``url``
and ``links``, and Attributes as a JSON *string* that reads ``"{}"`` when unset. Every record
renders itself against ``base``, the scheme and host the client reached the sandbox at, so the
URLs in a response are ones that client can follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

ChannelKind = Literal["chat", "sms", "whatsapp"]
STATES = ("active", "inactive", "closed")


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    """Resource dates: whole seconds, UTC, ``Z`` (twilio-python's ISO8601_DATETIME_FORMAT)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def iso_millis(moment: datetime) -> str:
    """Webhook dates carry milliseconds, as Twilio sends them (``2021-08-10T18:00:58.111Z``)."""
    stamp = moment.astimezone(UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass
class ConversationRecord:
    sid: str
    account_sid: str
    chat_service_sid: str
    messaging_service_sid: str | None = None
    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str = "{}"
    state: str = "active"
    timer_inactive: timedelta | None = None
    timer_closed: timedelta | None = None
    date_inactive: datetime | None = None
    date_closed: datetime | None = None
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)
    #: The Index the next message gets; indices only grow, even across deletions.
    next_index: int = 0

    @property
    def path(self) -> str:
        return f"/v1/Conversations/{self.sid}"

    def to_json(self, base: str) -> dict[str, Any]:
        url = base + self.path
        timers: dict[str, str | None] = {}
        if self.date_inactive is not None:
            timers["date_inactive"] = iso(self.date_inactive)
        if self.date_closed is not None:
            timers["date_closed"] = iso(self.date_closed)
        return {
            "account_sid": self.account_sid,
            "chat_service_sid": self.chat_service_sid,
            "messaging_service_sid": self.messaging_service_sid,
            "sid": self.sid,
            "friendly_name": self.friendly_name,
            "unique_name": self.unique_name,
            "attributes": self.attributes,
            "state": self.state,
            "date_created": iso(self.date_created),
            "date_updated": iso(self.date_updated),
            "timers": timers,
            "bindings": {},
            "url": url,
            "links": {
                "participants": f"{url}/Participants",
                "messages": f"{url}/Messages",
                "webhooks": f"{url}/Webhooks",
            },
        }


@dataclass
class ParticipantRecord:
    """A chat identity, a phone (Address + ProxyAddress), a group-MMS phone (Address only),
    or a chat identity projected into group MMS (Identity + ProjectedAddress)."""

    sid: str
    conversation_sid: str
    account_sid: str
    identity: str | None = None
    address: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    attributes: str = "{}"
    role_sid: str | None = None
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)

    @property
    def kind(self) -> ChannelKind:
        if self.address is None:
            return "chat"
        return "whatsapp" if self.address.startswith("whatsapp:") else "sms"

    @property
    def is_phone(self) -> bool:
        """Counts against the 50 non-chat participants and receives messages by SMS/WhatsApp."""
        return self.address is not None

    def messaging_binding(self) -> dict[str, str] | None:
        if self.projected_address is not None:
            return {"type": "sms", "projected_address": self.projected_address}
        if self.address is None:
            return None
        binding = {"type": self.kind, "address": self.address}
        if self.proxy_address is not None:
            binding["proxy_address"] = self.proxy_address
        return binding

    def to_json(self, base: str) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "conversation_sid": self.conversation_sid,
            "sid": self.sid,
            "identity": self.identity,
            "attributes": self.attributes,
            "messaging_binding": self.messaging_binding(),
            "role_sid": self.role_sid,
            "date_created": iso(self.date_created),
            "date_updated": iso(self.date_updated),
            "url": f"{base}/v1/Conversations/{self.conversation_sid}/Participants/{self.sid}",
            "last_read_message_index": None,
            "last_read_timestamp": None,
        }


@dataclass
class ConversationMessage:
    sid: str
    conversation_sid: str
    account_sid: str
    index: int
    author: str
    body: str | None
    attributes: str = "{}"
    participant_sid: str | None = None
    media: list[dict[str, Any]] = field(default_factory=list)
    content_sid: str | None = None
    content_variables: str | None = None
    #: SIDs of the SMS/WhatsApp messages that carried this one to phone participants.
    deliveries: list[str] = field(default_factory=list)
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)

    def to_json(self, base: str, delivery: dict[str, Any] | None) -> dict[str, Any]:
        url = f"{base}/v1/Conversations/{self.conversation_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "conversation_sid": self.conversation_sid,
            "sid": self.sid,
            "index": self.index,
            "author": self.author,
            "body": self.body,
            "media": self.media or None,
            "attributes": self.attributes,
            "participant_sid": self.participant_sid,
            "date_created": iso(self.date_created),
            "date_updated": iso(self.date_updated),
            "url": url,
            "delivery": delivery,
            "links": {
                "delivery_receipts": f"{url}/Receipts",
                "channel_metadata": f"{url}/ChannelMetadata",
            },
            "content_sid": self.content_sid,
        }


@dataclass
class ScopedWebhook:
    """A conversation-scoped webhook: target ``webhook`` (events by Filters), ``trigger``
    (messages containing a keyword) or ``studio`` (stored only; there is no Studio here)."""

    sid: str
    conversation_sid: str
    account_sid: str
    target: str
    url: str | None = None
    method: str = "post"
    filters: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    flow_sid: str | None = None
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)

    def to_json(self, base: str) -> dict[str, Any]:
        configuration: dict[str, Any] = {"method": self.method, "filters": self.filters}
        if self.url is not None:
            configuration["url"] = self.url
        if self.triggers:
            configuration["triggers"] = self.triggers
        if self.flow_sid is not None:
            configuration["flow_sid"] = self.flow_sid
        return {
            "account_sid": self.account_sid,
            "conversation_sid": self.conversation_sid,
            "sid": self.sid,
            "target": self.target,
            "configuration": configuration,
            "date_created": iso(self.date_created),
            "date_updated": iso(self.date_updated),
            "url": f"{base}/v1/Conversations/{self.conversation_sid}/Webhooks/{self.sid}",
        }


@dataclass
class WebhookConfiguration:
    """The account-level (global) webhook target: /v1/Configuration/Webhooks."""

    method: str = "POST"
    filters: list[str] = field(default_factory=list)
    pre_webhook_url: str | None = None
    post_webhook_url: str | None = None
    target: str = "webhook"

    def to_json(self, base: str, account_sid: str) -> dict[str, Any]:
        return {
            "account_sid": account_sid,
            "method": self.method,
            "filters": self.filters,
            "pre_webhook_url": self.pre_webhook_url,
            "post_webhook_url": self.post_webhook_url,
            "target": self.target,
            "url": f"{base}/v1/Configuration/Webhooks",
        }
