"""Content templates (Twilio's Content API v1) and how a message is rendered from one.

A bot sends rich WhatsApp messages, quick-reply buttons above all, by creating a template once and
sending ``ContentSid`` + ``ContentVariables``. The sandbox keeps the templates and renders each
such message into a body, media and buttons, so the simulator can show what a handset would.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botkit.sandbox.errors import ApiError

CONTENT_HOST = "https://content.twilio.com"
MAX_ACTIONS = 10
MAX_LIST_ITEMS = 10
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")

#: Which content type a channel shows, best first. A handset that cannot show buttons (SMS) gets
#: the plain text or media form; anything else falls back to the body of whatever type exists.
_PREFERENCE = {
    "whatsapp": (
        "twilio/quick-reply",
        "twilio/card",
        "twilio/call-to-action",
        "twilio/list-picker",
        "twilio/media",
        "twilio/text",
    ),
    "sms": ("twilio/media", "twilio/text"),
}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Rendered:
    """What the handset receives: the text, media URLs, and buttons (sandbox-only)."""

    body: str
    media_urls: list[str] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ContentTemplate:
    sid: str
    account_sid: str
    friendly_name: str | None
    language: str
    variables: dict[str, str]
    types: dict[str, dict[str, Any]]
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """The Content resource exactly as Twilio shapes it (ISO 8601 dates, relative url)."""
        url = f"{CONTENT_HOST}/v1/Content/{self.sid}"
        return {
            "account_sid": self.account_sid,
            "date_created": _iso(self.date_created),
            "date_updated": _iso(self.date_updated),
            "friendly_name": self.friendly_name,
            "language": self.language,
            "links": {
                "approval_create": f"{url}/ApprovalRequests/whatsapp",
                "approval_fetch": f"{url}/ApprovalRequests",
            },
            "sid": self.sid,
            "types": self.types,
            "url": url,
            "variables": self.variables,
        }

    def render(self, channel: str, raw_variables: str | None) -> Rendered:
        """The message this template becomes on channel ("sms" or "whatsapp")."""
        values = dict(self.variables)
        values.update(parse_variables(raw_variables))

        def fill(text: Any) -> str:
            return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), str(text or ""))

        kind = self._pick(channel)
        spec = self.types[kind]
        body = fill(spec.get("body", ""))
        if kind == "twilio/card":
            body = "\n".join(p for p in (fill(spec.get("title")), fill(spec.get("subtitle"))) if p)
        media = [fill(url) for url in spec.get("media") or []]
        actions: list[dict[str, str]] = []
        if channel == "whatsapp":
            for action in spec.get("actions") or []:
                button = {key: fill(value) for key, value in action.items() if value is not None}
                button.setdefault("type", "QUICK_REPLY")
                actions.append(button)
            if kind == "twilio/list-picker":
                actions = [_list_item(spec, item, fill) for item in spec.get("items") or []]
        return Rendered(body=body, media_urls=media, actions=actions)

    def _pick(self, channel: str) -> str:
        for kind in _PREFERENCE.get(channel, ()):
            if kind in self.types:
                return kind
        return next(iter(self.types))


def _list_item(spec: dict[str, Any], item: dict[str, Any], fill: Any) -> dict[str, str]:
    """A list picker's item as a handset shows it: behind the list's button, tapped to answer
    with ListId and ListTitle (sandbox-only shape, like quick-reply actions)."""
    return {
        "type": "LIST_ITEM",
        "title": fill(item.get("item")),
        "id": fill(item.get("id")),
        "description": fill(item.get("description")),
        "button": fill(spec.get("button")),
    }


def render_message(
    templates: dict[str, ContentTemplate], content_sid: str, channel: str, variables: str | None
) -> Rendered:
    """Render a Messages API create with ContentSid; Twilio's 21655 for an unknown template."""
    template = templates.get(content_sid)
    if template is None:
        raise ApiError(400, 21655, f"The Content SID is invalid: {content_sid}")
    return template.render(channel, variables)


def parse_variables(raw: str | None) -> dict[str, str]:
    """ContentVariables: a JSON object string, values stringified as Twilio does."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(400, 21656, "The ContentVariables Parameter is invalid.")
    return {str(key): str(value) for key, value in data.items()}


def template_from_request(sid: str, account_sid: str, data: Any) -> ContentTemplate:
    """Validate a create body ({friendly_name, language, variables, types}) into a template."""
    if not isinstance(data, dict):
        raise ApiError(400, 20001, "Request body must be a JSON object")
    language = data.get("language")
    if not isinstance(language, str) or not language:
        raise ApiError(400, 20001, "Missing required parameter language")
    raw_types = data.get("types")
    if not isinstance(raw_types, dict):
        raise ApiError(400, 20001, "Missing required parameter types")
    # The SDK sends every known type key, null when unused.
    types = {k: v for k, v in raw_types.items() if v is not None}
    if not types:
        raise ApiError(400, 20001, "types must contain at least one content type")
    for kind, spec in types.items():
        _check_type(kind, spec)
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ApiError(400, 20001, "variables must be an object")
    friendly_name = data.get("friendly_name")
    return ContentTemplate(
        sid=sid,
        account_sid=account_sid,
        friendly_name=str(friendly_name) if friendly_name is not None else None,
        language=language,
        variables={str(k): str(v) for k, v in variables.items()},
        types=types,
    )


def _check_type(kind: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ApiError(400, 20001, f"{kind} must be an object")
    actions = spec.get("actions")
    needs_actions = kind in ("twilio/quick-reply", "twilio/call-to-action")
    if needs_actions and (not isinstance(actions, list) or not actions):
        raise ApiError(400, 20001, f"{kind} needs at least one action")
    if actions is not None:
        if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
            raise ApiError(400, 20001, f"{kind} allows at most {MAX_ACTIONS} actions")
        for action in actions:
            if not isinstance(action, dict) or not action.get("title"):
                raise ApiError(400, 20001, f"every {kind} action needs a title")
    media = spec.get("media")
    if media is not None and not (
        isinstance(media, list) and all(isinstance(url, str) for url in media)
    ):
        raise ApiError(400, 20001, f"{kind} media must be a list of URLs")
    if kind in ("twilio/text", "twilio/quick-reply", "twilio/list-picker") and not spec.get(
        "body"
    ):
        raise ApiError(400, 20001, f"{kind} needs a body")
    if kind == "twilio/list-picker":
        _check_list(spec)


def _check_list(spec: dict[str, Any]) -> None:
    """Twilio's list picker: a button to open it, and 1 to 10 items, each with an id."""
    if not spec.get("button"):
        raise ApiError(400, 20001, "twilio/list-picker needs a button")
    items = spec.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_LIST_ITEMS:
        raise ApiError(400, 20001, f"twilio/list-picker needs 1 to {MAX_LIST_ITEMS} items")
    for item in items:
        if not isinstance(item, dict) or not item.get("item") or not item.get("id"):
            raise ApiError(400, 20001, "every twilio/list-picker item needs an item and an id")
