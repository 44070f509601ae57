"""A campaign: what it sends, from whom, where it stands, and what happened to its messages."""

from __future__ import annotations

import re
import secrets
import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from botkit.twilio.address import sender_problem

State = Literal["queueing", "sending", "paused", "canceled", "done"]
#: States in which the campaign's remaining recipients are still to be sent to.
LIVE: frozenset[str] = frozenset({"queueing", "sending"})
CAMPAIGN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

#: What a campaign counts, in the order reports show them. Import: ``recipients`` (added),
#: ``duplicates`` and ``invalid`` (CSV rows); feeding: ``queued`` (handed to the outbound queue),
#: ``opted_out`` (skipped before queueing, or stopped later), ``quiet_hours`` (recipients held
#: for daytime, once each); the outbound worker: ``sent`` (Twilio took it) and dead letters
#: by their reason (``rejected``, ``expired``, ``undeliverable``: a WhatsApp recipient outside
#: the window with no template, ...); status callbacks: ``delivered``, ``read``, ``failed``,
#: ``undelivered``.
COUNTS = (
    "recipients", "duplicates", "invalid", "queued", "opted_out", "quiet_hours", "sent",
    "delivered", "read", "failed", "undelivered", "rejected", "expired", "undeliverable",
    "outside_whatsapp_window", "retries_exhausted", "canceled",
)
#: Statuses of Twilio's callbacks that a campaign counts (``sent`` is counted when Twilio
#: accepts the create; its callback would count it twice).
CALLBACK_COUNTS = frozenset({"delivered", "read", "failed", "undelivered"})


def new_campaign_id() -> str:
    return time.strftime("c%Y%m%d-") + secrets.token_hex(3)


class Content(BaseModel):
    """What every recipient gets: ``text`` (``{column}`` filled in from their CSV row), or a
    Content template with variables (each may name columns the same way)."""

    model_config = ConfigDict(frozen=True)

    text: str | None = None
    content_sid: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one(self) -> Content:
        if bool(self.text) == bool(self.content_sid):
            raise ValueError("a campaign sends either a text or a template (content_sid)")
        if self.content_sid and not re.fullmatch(r"HX[0-9a-fA-F]{32}", self.content_sid):
            raise ValueError(f"{self.content_sid!r} is not a Content SID (HX + 32 hex digits)")
        return self


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str = Field(default_factory=new_campaign_id)
    name: str = ""
    content: Content
    from_: str | None = None
    messaging_service_sid: str | None = None
    #: Seconds each message stays worth sending (None: until sent).
    valid_for: float | None = None
    state: State = "queueing"
    created: float = Field(default_factory=time.time)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        # It is part of Redis keys and of the status callback URL.
        if not CAMPAIGN_ID.match(value):
            raise ValueError(
                f"{value[:70]!r} is not a campaign id (letters, digits, - and _, at most 64)"
            )
        return value

    @model_validator(mode="after")
    def _sender(self) -> Campaign:
        if self.from_ and self.messaging_service_sid:
            raise ValueError("a campaign comes from one sender: from_ or messaging_service_sid")
        # A sender no message can go from would stop at the feeder, every round.
        problem = sender_problem(self.from_, self.messaging_service_sid)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def sender(self) -> str | None:
        return self.messaging_service_sid or self.from_


class Recipient(BaseModel):
    """One person to send to: their address and the columns of their row."""

    model_config = ConfigDict(frozen=True)

    to: str
    columns: dict[str, str] = Field(default_factory=dict)


class Report(BaseModel):
    """A campaign with its counts, and its counts over time (minute -> count -> n)."""

    campaign: Campaign
    counts: dict[str, int]
    series: dict[int, dict[str, int]] = Field(default_factory=dict)
    remaining: int = 0
