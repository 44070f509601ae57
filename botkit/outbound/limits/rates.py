"""Who may send how fast, and what a message costs against that limit.

Twilio's throughput is per sender and depends on its kind (a long code sends 1 segment a second,
a WhatsApp sender 80 messages), and SMS is metered in segments: a 3-segment SMS on a long code
takes 3 seconds of its rate. The limits are configuration, not constants, because Twilio raises
them on request (toll-free verification, WhatsApp tiers) and per sender.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from botkit.outbound.message import OutboundMessage
from botkit.twilio.inbound import Channel
from botkit.twilio.segments import count_segments
from botkit.twilio.senders import SENDER_KINDS, SenderKind, sender_kind
from botkit.twilio.smart_encoding import smart_encode

__all__ = [
    "SENDER_KINDS",
    "Channel",
    "Limit",
    "RateTable",
    "SenderKind",
    "cost_of",
    "message_channel",
    "message_cost",
    "sender_kind",
    "sender_of",
]


class Limit(BaseModel):
    """A sustained rate in cost units (segments or messages) per second, and a burst in units.

    The burst defaults to 1, which spaces sends evenly: Twilio queues what arrives faster than a
    sender's rate rather than sending it, so a burst only moves the wait into Twilio's queue.
    A bare number is accepted as the rate: ``{"+15550001111": 5}``.
    """

    model_config = ConfigDict(frozen=True)

    rate: float = Field(
        gt=0, allow_inf_nan=False, description="Cost units (SMS segments or messages) a second."
    )
    burst: float = Field(
        default=1.0,
        ge=1.0,
        allow_inf_nan=False,
        description="Units that may go back to back before the rate spaces them.",
    )

    @model_validator(mode="before")
    @classmethod
    def _bare_rate(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"rate": value}
        if not isinstance(value, dict | Limit):
            # Said in the words of the setting, not pydantic's ("instance of Limit").
            raise ValueError(
                f'must be a rate per second (a number > 0) or {{"rate": N, "burst": N}}, '
                f"got {value!r}"
            )
        return value


class RateTable(BaseModel):
    """Default limits per sender kind (Twilio's defaults), and overrides by exact sender."""

    model_config = ConfigDict(frozen=True)

    long_code: Limit = Field(Limit(rate=1.0), description="Each long code number.")
    toll_free: Limit = Field(Limit(rate=3.0), description="Each toll-free number.")
    short_code: Limit = Field(Limit(rate=100.0), description="Each short code.")
    messaging_service: Limit = Field(
        Limit(rate=10.0), description="Each Messaging Service (MG...), as a whole."
    )
    whatsapp: Limit = Field(Limit(rate=80.0), description="Each WhatsApp sender.")
    conversation: Limit = Field(
        Limit(rate=10.0),
        description="Each Conversation (CH...), for the bot's posts into it as a whole.",
    )
    #: By exact sender as the outbound worker keys it: ``+15550001111``, ``whatsapp:+1...``,
    # ``MG...``.
    senders: dict[str, Limit] = Field(
        default_factory=dict,
        description="Overrides by exact sender: +15550001111, whatsapp:+1..., MG...",
    )

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        """A misspelt key ("lng_code") would otherwise be ignored and its limit never apply."""
        if not isinstance(value, dict):
            if isinstance(value, RateTable):
                return value
            raise ValueError(f"must be a JSON object of limits by sender kind, got {value!r}")
        allowed = list(cls.model_fields)
        unknown = [key for key in value if key not in allowed]
        if unknown:
            raise ValueError(
                f"unknown key {unknown[0]!r}; allowed: {', '.join(allowed)}"
            )
        return value

    def for_kind(self, kind: SenderKind) -> Limit:
        limit: Limit = getattr(self, kind)
        return limit

    def limit_for(self, sender: str) -> Limit:
        """The sender's own override, else its kind's default."""
        override = self.senders.get(sender)
        return override if override is not None else self.for_kind(sender_kind(sender))


def message_channel(to: str, media_count: int = 0) -> Channel:
    """The channel a message travels on: the recipient's address decides WhatsApp (a Messaging
    Service can send both), media makes an SMS an MMS."""
    if to.strip().lower().startswith("whatsapp:"):
        return "whatsapp"
    return "mms" if media_count > 0 else "sms"


def message_cost(channel: Channel, body: str | None) -> int:
    """Units a message takes from its sender's rate: SMS segments (GSM-7 or UCS-2), one MMS,
    one WhatsApp message. An empty SMS still costs its one segment."""
    if channel == "sms":
        return count_segments(body or "").segments
    return 1


def sender_of(message: OutboundMessage) -> str:
    """The rate-limited sender: a Messaging Service is limited as a whole, a number on its own,
    a conversation as a whole."""
    sender = message.conversation_sid or message.messaging_service_sid or message.from_
    if not sender:
        raise ValueError("an outbound message names no sender")
    return sender


def cost_of(message: OutboundMessage) -> int:
    """The message's cost against ``sender_of(message)``: one for a conversation message,
    whose phone deliveries Twilio meters on the participants' proxy numbers."""
    if message.conversation_sid is not None:
        return 1
    channel = message_channel(message.to, len(message.media_urls))
    body = message.body
    if body and message.smart_encoded:
        body = smart_encode(body)  # what Twilio will count, and so what the sender spends
    return message_cost(channel, body)
