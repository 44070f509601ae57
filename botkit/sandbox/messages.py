"""The Message resource as the sandbox keeps it, and its JSON exactly as Twilio shapes it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from email.utils import format_datetime
from json.encoder import encode_basestring_ascii
from typing import Any

API_VERSION = "2010-04-01"
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed", "read", "canceled", "received"})
#: Statuses of a message Twilio has not handed to the carrier yet (cancelable, not deletable).
NOT_YET_SENT = frozenset({"scheduled", "accepted", "queued"})


def now() -> datetime:
    return datetime.now(UTC)


#: Formatted dates by their fields down to the second (RFC 2822 has whole seconds, and a busy
#: sandbox stamps many messages in the same one). Keyed by fields rather than by the datetime,
#: whose replace(microsecond=0) and hash cost more than the lookup itself.
_RFC2822: dict[tuple[int, int, int, int, int, int, int, tzinfo | None], str] = {}


def rfc2822(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    key = (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
        moment.fold,
        moment.tzinfo,
    )
    text = _RFC2822.get(key)
    if text is None:
        if len(_RFC2822) >= 256:
            _RFC2822.clear()
        text = _RFC2822[key] = format_datetime(moment.replace(microsecond=0))
    return text


def _json_string(value: str | None) -> str:
    """A string as json.dumps writes it (ensure_ascii), or null."""
    return "null" if value is None else encode_basestring_ascii(value)


@dataclass
class MessageRecord:
    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    direction: str
    status: str
    num_segments: int
    media_urls: list[str] = field(default_factory=list)
    media_types: list[str] = field(default_factory=list)
    #: SIDs (ME...) of the media, given when the Media subresource is first read.
    media_sids: list[str] = field(default_factory=list)
    messaging_service_sid: str | None = None
    status_callback: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None
    error_code: int | None = None
    error_message: str | None = None
    date_created: datetime = field(default_factory=now)
    date_updated: datetime = field(default_factory=now)
    date_sent: datetime | None = None
    sent_at: float = 0.0  # monotonic-free wall time of the send, for rate records
    #: False while a Messaging Service message is "accepted": Twilio has not picked the sender
    #: from the pool yet, so the API shows ``from`` as null and ``num_segments`` as "0".
    sender_assigned: bool = True
    #: When a scheduled message (ScheduleType=fixed) is due.
    send_at: datetime | None = None
    #: ValidityPeriod (seconds): fail with 30036 rather than start sending later than this
    #: after the message entered the queue (its creation, or when a scheduled one was due).
    validity_period: int | None = None
    #: Attempt, as the caller gave it (kept, as Twilio keeps it; changes nothing).
    attempt: int | None = None
    #: When the message entered Twilio's outgoing queue (Unix time).
    queued_at: float = field(default_factory=time.time)
    history: list[tuple[str, datetime]] = field(default_factory=list)
    #: Buttons of a Content template message (sandbox-only: Twilio's JSON has no such field).
    actions: list[dict[str, str]] = field(default_factory=list)
    #: For a message that carries a Conversation message to a phone: which conversation and who
    #: wrote it, so the simulator can show a group chat (sandbox-only).
    conversation_sid: str | None = None
    author: str | None = None
    #: A location a WhatsApp phone shared: latitude, longitude, label, address (sandbox-only:
    #: the handset shows it; Twilio's JSON has no such field).
    location: dict[str, str] | None = None

    def expired(self, at: float) -> bool:
        """Its ValidityPeriod will have run out at ``at`` (Unix time), still unsent."""
        return self.validity_period is not None and at - self.queued_at > self.validity_period

    def set_status(self, status: str, error: tuple[int, str] | None = None) -> None:
        self.status = status
        self.date_updated = now()
        if error is not None:
            self.error_code, self.error_message = error
        self.history.append((status, self.date_updated))

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        base = self.uri.removesuffix(".json")
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent),
            "date_updated": rfc2822(self.date_updated),
            "direction": self.direction,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_ if self.sender_assigned else None,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls)),
            "num_segments": str(self.num_segments if self.sender_assigned else 0),
            "price": None,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": f"{base}/Media.json",
                "feedback": f"{base}/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri,
        }

    def json_text(self) -> str:
        """``json.dumps(self.to_json())``, character for character, written without the dict
        and the generic encoder: the create path answers thousands of these a second."""
        q = encode_basestring_ascii
        base = q(f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}")[:-1]
        assigned = self.sender_assigned
        error_code = "null" if self.error_code is None else json.dumps(self.error_code)
        return (
            f'{{"account_sid": {q(self.account_sid)}, "api_version": "{API_VERSION}", '
            f'"body": {q(self.body)}, '
            f'"date_created": {_json_string(rfc2822(self.date_created))}, '
            f'"date_sent": {_json_string(rfc2822(self.date_sent))}, '
            f'"date_updated": {_json_string(rfc2822(self.date_updated))}, '
            f'"direction": {q(self.direction)}, "error_code": {error_code}, '
            f'"error_message": {_json_string(self.error_message)}, '
            f'"from": {_json_string(self.from_ if assigned else None)}, '
            f'"messaging_service_sid": {_json_string(self.messaging_service_sid)}, '
            f'"num_media": "{len(self.media_urls)}", '
            f'"num_segments": "{self.num_segments if assigned else 0}", '
            f'"price": null, "price_unit": "USD", "sid": {q(self.sid)}, '
            f'"status": {q(self.status)}, '
            f'"subresource_uris": {{"media": {base}/Media.json", '
            f'"feedback": {base}/Feedback.json"}}, '
            f'"to": {q(self.to)}, "uri": {base}.json"}}'
        )

    def sandbox_json(self) -> dict[str, Any]:
        """to_json plus what only a handset sees (media URLs, buttons): for the simulator's
        event stream and transcripts, never for the REST API."""
        data = self.to_json()
        data["from"] = self.from_  # the handset always knows who texted it
        data["media"] = [
            {"url": url, "content_type": content_type}
            for url, content_type in zip(self.media_urls, self.media_types, strict=False)
        ]
        data["actions"] = self.actions
        data["content_sid"] = self.content_sid
        data["conversation_sid"] = self.conversation_sid
        data["author"] = self.author
        data["location"] = self.location
        return data
