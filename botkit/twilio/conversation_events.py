"""Conversations webhooks, parsed into typed events.

Twilio posts one form per event, told apart by ``EventType``. The events botkit acts on get a
model each: the post-events ``onMessageAdded``, ``onParticipantAdded/Updated/Removed``,
``onConversationAdded/Removed`` and ``onConversationStateUpdated``, and the pre-event
``onMessageAdd`` (a message about to be added: no MessageSid or Index yet). Other events Twilio
may send (``onMessageUpdated``, ``onDeliveryUpdated``, the other pre-events...) parse to None:
they are valid, and ignored.

As for 1:1 messages (inbound.py), parsing is strict about what botkit relies on (SIDs, Index,
Author, JSON fields, AccountSid) and raises MalformedConversationEvent with a one-line reason,
and it is lenient about the rest: every parameter is kept in ``params``. Conversations webhooks
carry no ApiVersion (twilio-facts.md lists none, and Twilio's OpenAPI describes none), so none
is required. This module depends on nothing else in botkit but the shared parameter checks
(params.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from botkit.twilio import strict_json
from botkit.twilio.params import account_sid, required, shown

ConversationState = Literal["initializing", "active", "inactive", "closed"]
#: How a conversation message was written: by a phone (sms, mms, whatsapp) or by a chat client
#: or the REST API ("chat").
ConversationChannel = Literal["sms", "mms", "whatsapp", "chat"]

MESSAGE_ADD = "onMessageAdd"
MESSAGE_ADDED = "onMessageAdded"
PARTICIPANT_ADDED = "onParticipantAdded"
PARTICIPANT_UPDATED = "onParticipantUpdated"
PARTICIPANT_REMOVED = "onParticipantRemoved"
CONVERSATION_ADDED = "onConversationAdded"
CONVERSATION_REMOVED = "onConversationRemoved"
CONVERSATION_STATE_UPDATED = "onConversationStateUpdated"

#: Events Twilio sends that botkit accepts and ignores.
IGNORED_EVENTS = frozenset(
    {
        "onMessageUpdated",
        "onMessageRemoved",
        "onConversationUpdated",
        "onDeliveryUpdated",
        "onUserAdded",
        "onUserUpdated",
        "onMessageUpdate",
        "onMessageRemove",
        "onConversationAdd",
        "onConversationUpdate",
        "onConversationRemove",
        "onParticipantAdd",
        "onParticipantUpdate",
        "onParticipantRemove",
        "onUserUpdate",
    }
)

_CONVERSATION_SID = re.compile(r"^CH[0-9a-fA-F]{32}$")
_MESSAGE_SID = re.compile(r"^IM[0-9a-fA-F]{32}$")
_PARTICIPANT_SID = re.compile(r"^MB[0-9a-fA-F]{32}$")
_CHAT_SERVICE_SID = re.compile(r"^IS[0-9a-fA-F]{32}$")
_STATES: dict[str, ConversationState] = {
    "initializing": "initializing",
    "active": "active",
    "inactive": "inactive",
    "closed": "closed",
}
_MAX_INDEX_DIGITS = 12


class MalformedConversationEvent(ValueError):
    """The parameters cannot describe a Conversations event; the text is the one-line reason."""


class Binding(BaseModel):
    """A phone participant's MessagingBinding: its address and the bot's address it texts."""

    model_config = ConfigDict(frozen=True)

    address: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None


class ConversationMedia(BaseModel):
    """One attachment of a conversation message (Media Content Service, by SID)."""

    model_config = ConfigDict(frozen=True)

    sid: str
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    conversation_sid: str
    account_sid: str | None = None
    chat_service_sid: str | None = None
    messaging_service_sid: str | None = None
    #: Where the action came from: API, SDK (chat clients), SMS, WHATSAPP...
    source: str | None = None
    params: dict[str, str]


class _MessageFields(_Event):
    author: str
    body: str = ""
    attributes: dict[str, Any] = {}
    media: tuple[ConversationMedia, ...] = ()
    #: The author's participant; None for API messages whose author is no participant.
    participant_sid: str | None = None
    binding: Binding | None = None

    @property
    def text(self) -> str:
        """The body, trimmed: what intent matching looks at."""
        return self.body.strip()

    @property
    def channel(self) -> ConversationChannel:
        address = self.binding.address if self.binding else None
        if self.source == "WHATSAPP" or (address or "").startswith("whatsapp:"):
            return "whatsapp"
        if self.source in ("SMS", "MMS") or address:
            return "mms" if self.media else "sms"
        return "chat"


class MessageAdd(_MessageFields):
    """Pre-event: a message is about to be added. The answer may reject or rewrite it."""

    event_type: Literal["onMessageAdd"] = "onMessageAdd"


class MessageAdded(_MessageFields):
    """A message was added to a conversation: what conversation intents are routed on."""

    event_type: Literal["onMessageAdded"] = "onMessageAdded"
    sid: str
    index: int

    @property
    def dedup_id(self) -> str:
        return f"conversation:{self.event_type}:{self.sid}:{self.index}"


class _ParticipantFields(_Event):
    event_type: str
    participant_sid: str
    identity: str | None = None
    binding: Binding | None = None
    attributes: dict[str, Any] = {}
    role_sid: str | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None

    @property
    def dedup_id(self) -> str:
        # An update can happen many times: DateUpdated tells them apart.
        stamp = self.date_updated.isoformat() if self.date_updated else ""
        return f"conversation:{self.event_type}:{self.participant_sid}:{stamp}"


class ParticipantAdded(_ParticipantFields):
    event_type: Literal["onParticipantAdded"] = "onParticipantAdded"


class ParticipantUpdated(_ParticipantFields):
    event_type: Literal["onParticipantUpdated"] = "onParticipantUpdated"


class ParticipantRemoved(_ParticipantFields):
    event_type: Literal["onParticipantRemoved"] = "onParticipantRemoved"


class _ConversationFields(_Event):
    unique_name: str | None = None
    friendly_name: str | None = None
    attributes: dict[str, Any] = {}
    state: ConversationState | None = None
    date_created: datetime | None = None
    date_updated: datetime | None = None


class ConversationAdded(_ConversationFields):
    event_type: Literal["onConversationAdded"] = "onConversationAdded"

    @property
    def dedup_id(self) -> str:
        return f"conversation:{self.event_type}:{self.conversation_sid}"


class ConversationRemoved(_ConversationFields):
    event_type: Literal["onConversationRemoved"] = "onConversationRemoved"

    @property
    def dedup_id(self) -> str:
        return f"conversation:{self.event_type}:{self.conversation_sid}"


class ConversationStateUpdated(_ConversationFields):
    """The conversation moved from ``state_from`` to ``state_to``; ``reason`` is API, TIMER or
    EVENT (a message reactivated it)."""

    event_type: Literal["onConversationStateUpdated"] = "onConversationStateUpdated"
    state_from: ConversationState
    state_to: ConversationState
    reason: str | None = None

    @property
    def dedup_id(self) -> str:
        # A conversation can go active -> inactive -> active again: the time tells them apart.
        stamp = self.date_updated.isoformat() if self.date_updated else ""
        return (
            f"conversation:{self.event_type}:{self.conversation_sid}:"
            f"{self.state_from}>{self.state_to}:{stamp}"
        )


PostEvent = (
    MessageAdded
    | ParticipantAdded
    | ParticipantUpdated
    | ParticipantRemoved
    | ConversationAdded
    | ConversationRemoved
    | ConversationStateUpdated
)
#: A post-event as stored in the inbound queue (told apart by ``event_type``).
PostEventField = Annotated[PostEvent, Field(discriminator="event_type")]
ConversationEvent = PostEvent | MessageAdd


def parse_conversation_event(params: Mapping[str, str]) -> ConversationEvent | None:
    """The event these webhook params describe; None for a Twilio event botkit ignores.

    Raises MalformedConversationEvent with the reason when they describe no valid event.
    """
    event_type = _required(params, "EventType")
    if event_type in IGNORED_EVENTS:
        return None
    parser = _PARSERS.get(event_type)
    if parser is None:
        raise MalformedConversationEvent(
            f"EventType {shown(event_type)} is not a Conversations webhook event"
        )
    return parser(params)


def _common(params: Mapping[str, str]) -> dict[str, Any]:
    return {
        "conversation_sid": _sid(params, "ConversationSid", _CONVERSATION_SID, "conversation"),
        "account_sid": account_sid(params, MalformedConversationEvent),
        "chat_service_sid": _sid(params, "ChatServiceSid", _CHAT_SERVICE_SID, "chat service"),
        "messaging_service_sid": params.get("MessagingServiceSid") or None,
        "source": (params.get("Source") or "").strip().upper() or None,
        "params": dict(params),
    }


def _message_fields(params: Mapping[str, str]) -> dict[str, Any]:
    media = _media(params)
    if "Body" not in params and not media and not params.get("ContentSid"):
        # A message has a body, media or a template. One with none is a re-cut request: its
        # Body merged into the Author before it (botkit/twilio/params.py says why that signs).
        raise MalformedConversationEvent("missing required parameter Body")
    return {
        **_common(params),
        "author": _required(params, "Author"),
        "body": params.get("Body", ""),
        "attributes": _attributes(params),
        "media": media,
        "participant_sid": _optional_sid(params, "ParticipantSid", _PARTICIPANT_SID),
        "binding": _binding(params),
    }


def _message_add(params: Mapping[str, str]) -> MessageAdd:
    return MessageAdd(**_message_fields(params))


def _message_added(params: Mapping[str, str]) -> MessageAdded:
    return MessageAdded(
        **_message_fields(params),
        sid=_sid(params, "MessageSid", _MESSAGE_SID, "conversation message"),
        index=_index(params),
    )


def _participant_fields(params: Mapping[str, str]) -> dict[str, Any]:
    return {
        **_common(params),
        "participant_sid": _sid(params, "ParticipantSid", _PARTICIPANT_SID, "participant"),
        "identity": params.get("Identity") or None,
        "binding": _binding(params),
        "attributes": _attributes(params),
        "role_sid": params.get("RoleSid") or None,
        "date_created": _date(params.get("DateCreated")),
        "date_updated": _date(params.get("DateUpdated")),
    }


def _conversation_fields(params: Mapping[str, str]) -> dict[str, Any]:
    state = params.get("State") or None
    return {
        **_common(params),
        "unique_name": params.get("UniqueName") or None,
        "friendly_name": params.get("FriendlyName") or None,
        "attributes": _attributes(params),
        "state": _state(state, "State") if state else None,
        "date_created": _date(params.get("DateCreated")),
        "date_updated": _date(params.get("DateUpdated")),
    }


def _state_updated(params: Mapping[str, str]) -> ConversationStateUpdated:
    return ConversationStateUpdated(
        **_conversation_fields(params),
        state_from=_state(_required(params, "StateFrom"), "StateFrom"),
        state_to=_state(_required(params, "StateTo"), "StateTo"),
        reason=params.get("Reason") or None,
    )


_PARSERS: dict[str, Callable[[Mapping[str, str]], ConversationEvent]] = {
    MESSAGE_ADD: _message_add,
    MESSAGE_ADDED: _message_added,
    PARTICIPANT_ADDED: lambda p: ParticipantAdded(**_participant_fields(p)),
    PARTICIPANT_UPDATED: lambda p: ParticipantUpdated(**_participant_fields(p)),
    PARTICIPANT_REMOVED: lambda p: ParticipantRemoved(**_participant_fields(p)),
    CONVERSATION_ADDED: lambda p: ConversationAdded(**_conversation_fields(p)),
    CONVERSATION_REMOVED: lambda p: ConversationRemoved(**_conversation_fields(p)),
    CONVERSATION_STATE_UPDATED: _state_updated,
}


def _required(params: Mapping[str, str], name: str) -> str:
    return required(params, name, MalformedConversationEvent)


def _sid(params: Mapping[str, str], name: str, shape: re.Pattern[str], what: str) -> str:
    value = _required(params, name)
    if not shape.match(value):
        raise MalformedConversationEvent(f"{name} {shown(value)} is not a Twilio {what} SID")
    return value


def _optional_sid(params: Mapping[str, str], name: str, shape: re.Pattern[str]) -> str | None:
    if not params.get(name, "").strip():
        return None
    return _sid(params, name, shape, "participant")


def _index(params: Mapping[str, str]) -> int:
    raw = _required(params, "Index")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_INDEX_DIGITS:
        raise MalformedConversationEvent(f"Index {shown(raw)} is not a message index")
    return int(raw)


def _state(value: str, name: str) -> ConversationState:
    state = _STATES.get(value)
    if state is not None:
        return state
    raise MalformedConversationEvent(
        f"{name} {shown(value)} is not a conversation state ({', '.join(_STATES)})"
    )


def _json(params: Mapping[str, str], name: str) -> Any:
    raw = params.get(name, "")
    if not raw.strip():
        return None
    try:
        return strict_json.loads(raw)
    except ValueError as exc:
        raise MalformedConversationEvent(f"{name} {exc}") from None


def _attributes(params: Mapping[str, str]) -> dict[str, Any]:
    """Attributes as a dict; JSON that is not an object is kept under "value" (as the
    Conversations client models do), so handlers always get a dict."""
    value = _json(params, "Attributes")
    if value is None:
        return {}
    return value if isinstance(value, dict) else {"value": value}


def _media(params: Mapping[str, str]) -> tuple[ConversationMedia, ...]:
    value = _json(params, "Media")
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(item, dict) and isinstance(item.get("Sid"), str) for item in value
    ):
        raise MalformedConversationEvent("Media must be a JSON list of objects with a Sid")
    items = []
    for item in value:
        size = item.get("Size")
        items.append(
            ConversationMedia(
                sid=item["Sid"],
                content_type=_text_or_none(item.get("ContentType")),
                filename=_text_or_none(item.get("Filename")),
                size=size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )
    return tuple(items)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _binding(params: Mapping[str, str]) -> Binding | None:
    fields = {
        "address": params.get("MessagingBinding.Address") or None,
        "proxy_address": params.get("MessagingBinding.ProxyAddress") or None,
        "projected_address": params.get("MessagingBinding.ProjectedAddress") or None,
    }
    return Binding(**fields) if any(fields.values()) else None


def _date(raw: str | None) -> datetime | None:
    """Webhook dates are ISO 8601 with milliseconds; one that does not parse is left out."""
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None

#: Every Conversations event a botkit bot handles: the filters its webhooks need, as the
#: testing kit and development mode configure them.
HANDLED_EVENTS = (
    "onMessageAdd",
    "onMessageAdded",
    "onParticipantAdded",
    "onParticipantUpdated",
    "onParticipantRemoved",
    "onConversationStateUpdated",
    "onConversationRemoved",
)
