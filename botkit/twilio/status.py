"""Status callbacks: the typed callback, and the order a message's statuses move in.

Twilio does not deliver status callbacks in order (twilio-facts.md, "Status callbacks"): a
``sent`` may arrive after its ``delivered``. So a status is never taken at face value; it is
ranked, and a callback only counts when it moves the message forward (promise 8). The ranks
and ``is_forward`` live here, free of any storage, so that every store (and the Lua script of
the Redis one) applies one and the same rule.

Ranks, outbound: accepted (Messaging Service took the request) < scheduled < queued < sending
< sent < partially_delivered < the final statuses. Inbound: receiving < received. Final
statuses (delivered, undelivered, failed, canceled, received, read) never move again, with one
exception: WhatsApp reports ``read`` after ``delivered``. ``read`` straight after ``sent``
counts (the ``delivered`` may be the callback that is late); a ``failed`` message is never
``read``. ``partially_delivered`` is ranked before the finals (UNCONFIRMED: Twilio does not
say whether it is final; this way a later ``delivered`` still counts).

This module depends on nothing else in botkit but the shared parameter checks (params.py):
the payload models stand alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, cast, get_args

from pydantic import BaseModel, ConfigDict

from botkit.twilio.params import account_sid, api_version, required, shown

MessageStatus = Literal[
    "accepted",
    "scheduled",
    "queued",
    "sending",
    "sent",
    "partially_delivered",
    "delivered",
    "undelivered",
    "failed",
    "read",
    "canceled",
    "receiving",
    "received",
]

STATUSES: frozenset[str] = frozenset(get_args(MessageStatus))

#: Higher is later. Statuses of equal rank never replace one another.
RANK: Mapping[MessageStatus, int] = {
    "accepted": 0,
    "scheduled": 1,
    "queued": 2,
    "sending": 3,
    "receiving": 3,
    "sent": 4,
    "partially_delivered": 5,
    "delivered": 6,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
    "received": 6,
    "read": 7,
}

FINAL_STATUSES: frozenset[MessageStatus] = frozenset(
    {"delivered", "undelivered", "failed", "canceled", "received", "read"}
)

#: The only moves out of a final status.
_AFTER_FINAL: Mapping[MessageStatus, frozenset[MessageStatus]] = {
    "delivered": frozenset({"read"}),
}

_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_ERROR_CODE = re.compile(r"^[0-9]{1,6}$")


class MalformedStatusCallback(ValueError):
    """The callback's parameters cannot describe a status; the text is the one-line reason."""


def is_final(status: MessageStatus) -> bool:
    return status in FINAL_STATUSES


def is_forward(old: MessageStatus | None, new: MessageStatus) -> bool:
    """Whether a message at ``old`` (None: nothing known yet) may move to ``new``.

    Equal statuses are not a move: a duplicate callback changes nothing.
    """
    if old is None:
        return True
    if old in FINAL_STATUSES:
        return new in _AFTER_FINAL.get(old, frozenset())
    return RANK[new] > RANK[old]


def forward_from(new: MessageStatus) -> frozenset[MessageStatus]:
    """Every status from which ``new`` is a forward move: what a store's script checks against,
    so that the rule is written once, here."""
    return frozenset(old for old in RANK if is_forward(old, new))


def parse_status(raw: str) -> MessageStatus:
    """A status name as Twilio spells it, or MalformedStatusCallback."""
    value = raw.strip()
    if value not in STATUSES:
        raise MalformedStatusCallback(
            f"MessageStatus {shown(value)} is not a Twilio message status"
        )
    return cast(MessageStatus, value)


class StatusCallback(BaseModel):
    """One status callback as Twilio posted it. ``params`` keeps every parameter received,
    because Twilio adds some without notice (ChannelStatusMessage, RawDlrDoneDate...)."""

    model_config = ConfigDict(frozen=True)

    message_sid: str
    status: MessageStatus
    error_code: int | None = None
    from_: str | None = None
    to: str | None = None
    account_sid: str | None = None
    messaging_service_sid: str | None = None
    params: dict[str, str]

    @property
    def is_final(self) -> bool:
        return is_final(self.status)


def parse_status_callback(params: Mapping[str, str]) -> StatusCallback:
    """Build a StatusCallback from the posted params, or raise MalformedStatusCallback.

    The status is MessageStatus, or SmsStatus (its older name) when MessageStatus is absent.
    AccountSid and ApiVersion are required, for the reason botkit/twilio/params.py gives.
    """
    sid = required(params, "MessageSid", MalformedStatusCallback)
    if not _MESSAGE_SID.match(sid):
        raise MalformedStatusCallback(f"MessageSid {shown(sid)} is not a Twilio message SID")
    account = account_sid(params, MalformedStatusCallback)
    api_version(params, MalformedStatusCallback)
    raw_status = params.get("MessageStatus", "").strip() or params.get("SmsStatus", "").strip()
    if not raw_status:
        raise MalformedStatusCallback("missing required parameter MessageStatus")
    return StatusCallback(
        message_sid=sid,
        status=parse_status(raw_status),
        error_code=_error_code(params.get("ErrorCode", "")),
        from_=params.get("From") or None,
        to=params.get("To") or None,
        account_sid=account,
        messaging_service_sid=params.get("MessagingServiceSid") or None,
        params=dict(params),
    )


def _error_code(raw: str) -> int | None:
    value = raw.strip()
    if not value:
        return None
    if not _ERROR_CODE.match(value):
        shown = value if len(value) <= 20 else value[:20] + "..."
        raise MalformedStatusCallback(f"ErrorCode {shown!r} is not a Twilio error code")
    return int(value)
