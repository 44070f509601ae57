"""What a test sees of a message: who sent it to whom, on which channel, with which text, media,
buttons and template, and where its delivery stands.

Built from the sandbox's own view of a message (what a handset would show), never from the
bot's side, so a test asserts on what the user really got.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MediaItem:
    """One attachment: its URL and content type."""

    url: str
    content_type: str


#: The kind of a list picker's item (``Button.kind``).
LIST_ITEM = "LIST_ITEM"


@dataclass(frozen=True)
class Button:
    """A button of a Content template message (a WhatsApp quick reply, usually), or an item of
    a list picker (kind ``LIST_ITEM``).

    ``payload`` is the button's id: what the bot receives as ``ButtonPayload`` (``ListId`` for a
    list item) when it is tapped.
    """

    title: str
    payload: str
    kind: str = "QUICK_REPLY"


@dataclass
class Message:
    """A message as the sandbox (Twilio) saw it. ``status`` and ``error_code`` follow its
    delivery as status events arrive."""

    sid: str
    sender: str
    recipient: str
    body: str
    channel: str
    outbound: bool
    media: tuple[MediaItem, ...] = ()
    buttons: tuple[Button, ...] = ()
    content_sid: str | None = None
    status: str = ""
    error_code: int | None = None
    conversation_sid: str | None = None
    author: str | None = None
    history: list[str] = field(default_factory=list)

    @property
    def media_urls(self) -> list[str]:
        return [item.url for item in self.media]

    @property
    def button_titles(self) -> list[str]:
        return [button.title for button in self.buttons]

    def describe(self) -> str:
        """The message on one line: text first, then what else it carried."""
        parts = [repr(self.body)] if self.body else ["(no text)"]
        if self.media:
            parts.append("media: " + ", ".join(self.media_urls))
        if self.buttons:
            parts.append("buttons: " + " | ".join(self.button_titles))
        if self.content_sid:
            parts.append(f"template {self.content_sid}")
        if self.status in ("failed", "undelivered"):
            code = f" {self.error_code}" if self.error_code is not None else ""
            parts.append(f"{self.status}{code}")
        return " ".join(parts[:1]) + "".join(f" [{part}]" for part in parts[1:])

    @classmethod
    def from_sandbox(cls, data: Mapping[str, Any]) -> Message:
        """From the sandbox's event JSON for a Message (``MessageRecord.sandbox_json``)."""
        to = str(data.get("to") or "")
        media = tuple(
            MediaItem(url=str(item["url"]), content_type=str(item.get("content_type") or ""))
            for item in data.get("media") or []
        )
        channel = "whatsapp" if to.startswith("whatsapp:") else "mms" if media else "sms"
        status = str(data.get("status") or "")
        return cls(
            sid=str(data["sid"]),
            sender=str(data.get("from") or ""),
            recipient=to,
            body=str(data.get("body") or ""),
            channel=channel,
            outbound=str(data.get("direction") or "").startswith("outbound"),
            media=media,
            buttons=tuple(_button(action) for action in data.get("actions") or []),
            content_sid=data.get("content_sid") or None,
            status=status,
            error_code=_code(data.get("error_code")),
            conversation_sid=data.get("conversation_sid") or None,
            author=data.get("author") or None,
            history=[status],
        )

    def update_from(self, data: Mapping[str, Any]) -> None:
        """A later event about the same message: its status moved (or it was redacted)."""
        status = str(data.get("status") or self.status)
        if status != self.status:
            self.history.append(status)
        self.status = status
        self.error_code = _code(data.get("error_code"))


@dataclass(frozen=True)
class ConversationPost:
    """A message added to a Conversation, as its chat participants see it."""

    sid: str
    conversation_sid: str
    author: str
    body: str
    index: int
    media_count: int = 0

    def describe(self) -> str:
        text = repr(self.body) if self.body else "(no text)"
        return text + (f" [media: {self.media_count}]" if self.media_count else "")

    @classmethod
    def from_sandbox(cls, data: Mapping[str, Any]) -> ConversationPost:
        return cls(
            sid=str(data["sid"]),
            conversation_sid=str(data.get("conversation_sid") or ""),
            author=str(data.get("author") or ""),
            body=str(data.get("body") or ""),
            index=int(data.get("index") or 0),
            media_count=len(data.get("media") or []),
        )


def _button(action: Mapping[str, Any]) -> Button:
    title = str(action.get("title") or "")
    return Button(
        title=title,
        payload=str(action.get("id") or title),
        kind=str(action.get("type") or "QUICK_REPLY"),
    )


def _code(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None
