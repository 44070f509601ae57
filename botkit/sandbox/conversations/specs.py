"""Request forms turned into checked specs: what a create or update asks for, field by field.

Field checks live here (JSON Attributes and their size limits, addresses, durations, states);
rules that need the rest of the sandbox (bindings, limits, closed conversations) live in the
service. Twilio's size limits: Attributes 16 KB on a conversation, 4 KB on a participant or a
message; Identity and addresses 256 characters; a chat message body 32 KB.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from multidict import MultiDictProxy

from botkit.sandbox.conversations import errors
from botkit.sandbox.conversations.events import EVENTS
from botkit.sandbox.conversations.models import STATES
from botkit.sandbox.conversations.timers import parse_duration
from botkit.twilio.address import parse_address

Form = MultiDictProxy[Any]

CONVERSATION_ATTRIBUTES_LIMIT = 16 * 1024
PARTICIPANT_ATTRIBUTES_LIMIT = 4 * 1024
MESSAGE_ATTRIBUTES_LIMIT = 4 * 1024
NAME_LIMIT = 256
BODY_LIMIT = 32 * 1024
_MG_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_SID = {
    "RoleSid": re.compile(r"^RL[0-9a-fA-F]{32}$"),
    "MediaSid": re.compile(r"^ME[0-9a-fA-F]{32}$"),
}


def text(form: Form, name: str) -> str | None:
    """A form field, or None when absent (an empty string is a value: it clears the field)."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def attributes(raw: str | None, what: str, limit: int) -> str | None:
    if raw is None:
        return None
    if raw == "":
        return "{}"
    if len(raw.encode()) > limit:
        raise errors.attributes_too_long(what, limit)
    try:
        json.loads(raw)
    except ValueError:
        raise errors.attributes_not_json(what) from None
    return raw


def _limited(raw: str | None, name: str, limit: int = NAME_LIMIT) -> str | None:
    if raw is not None and len(raw) > limit:
        raise errors.invalid(f"{name} is limited to {limit} characters")
    return raw


def _address(raw: str | None, name: str) -> str | None:
    if raw is None or raw == "":
        return None
    _limited(raw, name)
    try:
        return str(parse_address(raw))
    except ValueError as exc:
        raise errors.invalid(f"Invalid {name}: {exc}") from None


def _sid(raw: str | None, name: str, pattern: re.Pattern[str]) -> str | None:
    if raw is None or raw == "":
        return None
    if not pattern.match(raw):
        raise errors.invalid(f"Invalid {name}: {raw!r}")
    return raw


def _state(raw: str | None) -> str | None:
    if raw is None:
        return None
    if raw not in STATES:
        raise errors.invalid(f"State must be one of {', '.join(STATES)}, not {raw!r}")
    return raw


def _duration(raw: str | None, name: str) -> timedelta | None:
    return parse_duration(raw, name) if raw else None


@dataclass(frozen=True)
class ConversationSpec:
    """Create or update; for an update None means "leave as is"."""

    friendly_name: str | None = None
    unique_name: str | None = None
    attributes: str | None = None
    messaging_service_sid: str | None = None
    state: str | None = None
    timer_inactive: timedelta | None = None
    timer_closed: timedelta | None = None

    @classmethod
    def from_form(cls, form: Form) -> ConversationSpec:
        return cls(
            friendly_name=_limited(text(form, "FriendlyName"), "FriendlyName"),
            unique_name=_limited(text(form, "UniqueName"), "UniqueName"),
            attributes=attributes(
                text(form, "Attributes"), "Conversation", CONVERSATION_ATTRIBUTES_LIMIT
            ),
            messaging_service_sid=_sid(
                text(form, "MessagingServiceSid"), "MessagingServiceSid", _MG_SID
            ),
            state=_state(text(form, "State")),
            timer_inactive=_duration(text(form, "Timers.Inactive"), "Timers.Inactive"),
            timer_closed=_duration(text(form, "Timers.Closed"), "Timers.Closed"),
        )


@dataclass(frozen=True)
class ParticipantSpec:
    identity: str | None = None
    address: str | None = None
    proxy_address: str | None = None
    projected_address: str | None = None
    attributes: str = "{}"
    role_sid: str | None = None

    @classmethod
    def from_form(cls, form: Form) -> ParticipantSpec:
        spec = cls(
            identity=_limited(text(form, "Identity"), "Identity") or None,
            address=_address(text(form, "MessagingBinding.Address"), "MessagingBinding.Address"),
            proxy_address=_address(
                text(form, "MessagingBinding.ProxyAddress"), "MessagingBinding.ProxyAddress"
            ),
            projected_address=_address(
                text(form, "MessagingBinding.ProjectedAddress"),
                "MessagingBinding.ProjectedAddress",
            ),
            attributes=attributes(
                text(form, "Attributes"), "Participant", PARTICIPANT_ATTRIBUTES_LIMIT
            )
            or "{}",
            role_sid=_sid(text(form, "RoleSid"), "RoleSid", _SID["RoleSid"]),
        )
        spec.check_shape()
        return spec

    def check_shape(self) -> None:
        """Which combinations of Identity and MessagingBinding.* make a participant."""
        if self.address is not None and self.identity is not None:
            raise errors.invalid("Give either Identity or MessagingBinding.Address, not both")
        if self.address is None and self.identity is None:
            raise errors.invalid("Identity or MessagingBinding.Address is required")
        if self.projected_address is not None:
            if self.identity is None:
                raise errors.invalid("MessagingBinding.ProjectedAddress needs an Identity")
            if self.projected_address.startswith("whatsapp:"):
                raise errors.invalid("MessagingBinding.ProjectedAddress must be an SMS number")
        if self.proxy_address is not None and self.address is None:
            raise errors.invalid("MessagingBinding.ProxyAddress needs MessagingBinding.Address")
        if (
            self.address is not None
            and self.proxy_address is not None
            and self.address.startswith("whatsapp:") != self.proxy_address.startswith("whatsapp:")
        ):
            raise errors.invalid(
                "MessagingBinding.Address and MessagingBinding.ProxyAddress must use the "
                "same channel (both whatsapp: or both SMS)"
            )


@dataclass(frozen=True)
class ParticipantChanges:
    """A participant update: Attributes and RoleSid (None: leave as is)."""

    attributes: str | None = None
    role_sid: str | None = None

    @classmethod
    def from_form(cls, form: Form) -> ParticipantChanges:
        role_sid = text(form, "RoleSid")
        return cls(
            attributes=attributes(
                text(form, "Attributes"), "Participant", PARTICIPANT_ATTRIBUTES_LIMIT
            ),
            role_sid="" if role_sid == "" else _sid(role_sid, "RoleSid", _SID["RoleSid"]),
        )


@dataclass(frozen=True)
class MessageSpec:
    author: str | None = None
    body: str | None = None
    attributes: str | None = None
    media_sid: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None

    @classmethod
    def from_form(cls, form: Form, *, create: bool) -> MessageSpec:
        body = text(form, "Body")
        if body is not None and len(body.encode()) > BODY_LIMIT:
            raise errors.body_too_long(BODY_LIMIT)
        spec = cls(
            author=_limited(text(form, "Author"), "Author"),
            body=body,
            attributes=attributes(text(form, "Attributes"), "Message", MESSAGE_ATTRIBUTES_LIMIT),
            media_sid=_sid(text(form, "MediaSid"), "MediaSid", _SID["MediaSid"]),
            content_sid=text(form, "ContentSid") or None,
            content_variables=text(form, "ContentVariables") or None,
        )
        if create and not (spec.body or spec.media_sid or spec.content_sid):
            raise errors.body_missing()
        return spec


@dataclass(frozen=True)
class WebhookSpec:
    target: str | None = None
    url: str | None = None
    method: str | None = None
    filters: list[str] = field(default_factory=list)
    triggers: list[str] = field(default_factory=list)
    flow_sid: str | None = None

    @classmethod
    def from_form(cls, form: Form, *, create: bool) -> WebhookSpec:
        target = text(form, "Target")
        if create and not target:
            raise errors.webhook_target_missing()
        if target is not None and target not in ("webhook", "trigger", "studio"):
            raise errors.webhook_target_invalid(target)
        spec = cls(
            target=target,
            url=text(form, "Configuration.Url") or None,
            method=_method(text(form, "Configuration.Method"), lower=True),
            filters=filters([str(v) for v in form.getall("Configuration.Filters", [])]),
            triggers=[str(v) for v in form.getall("Configuration.Triggers", []) if v],
            flow_sid=text(form, "Configuration.FlowSid") or None,
        )
        if create and target in ("webhook", "trigger") and spec.url is None:
            raise errors.invalid(f"Configuration.Url is required for target {target!r}")
        return spec


@dataclass(frozen=True)
class ConfigurationSpec:
    method: str | None = None
    filters: list[str] | None = None
    pre_webhook_url: str | None = None
    post_webhook_url: str | None = None
    target: str | None = None

    @classmethod
    def from_form(cls, form: Form) -> ConfigurationSpec:
        target = text(form, "Target")
        if target is not None and target not in ("webhook", "flex"):
            raise errors.invalid(f"Target must be webhook or flex, not {target!r}")
        return cls(
            method=_method(text(form, "Method"), lower=False),
            filters=filters([str(v) for v in form.getall("Filters", [])])
            if "Filters" in form
            else None,
            pre_webhook_url=text(form, "PreWebhookUrl"),
            post_webhook_url=text(form, "PostWebhookUrl"),
            target=target,
        )


def _method(raw: str | None, *, lower: bool) -> str | None:
    """Scoped webhooks spell methods ``get``/``post``; the account configuration ``GET``."""
    if raw is None or raw == "":
        return None
    if raw.upper() not in ("GET", "POST"):
        raise errors.invalid(f"Method must be GET or POST, not {raw!r}")
    return raw.lower() if lower else raw.upper()


def filters(names: list[str]) -> list[str]:
    for name in names:
        if name not in EVENTS:
            raise errors.webhook_filter_invalid(name)
    return list(dict.fromkeys(names))
