"""The Outbox protocol: where ctx.reply, ctx.send and bot.send hand their messages.

Handlers never call Twilio themselves. Keeping one seam means the direct outbox used now can be
replaced by a durable, rate-aware outbound worker without touching a single handler.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Literal, TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

Lane = Literal["reply", "bulk"]
#: Twilio's longest ValidityPeriod (seconds): what it keeps a message in its queue at most.
MAX_VALIDITY = 36_000


class SendOptions(TypedDict, total=False):
    """What every send takes besides the recipient and the text: ``ctx.reply``, ``ctx.send``,
    ``bot.send`` and the hook contexts' ``send`` all accept exactly these, defined once here.

    media_urls: public URLs of media to attach (MMS, WhatsApp). content_sid /
    content_variables: a Content template (WhatsApp quick replies, cards) and its placeholders.
    from_ / messaging_service_sid: who sends (default: the address the user wrote to, or
    BOTKIT_MESSAGING_SERVICE_SID). lane: "reply" goes ahead of "bulk" (proactive sends default
    to bulk, and quiet hours hold them). valid_for: seconds after which the message is
    dead-lettered rather than sent late (Twilio's ValidityPeriod is set to what is left of it).
    idempotency_key: the message's identity (handlers get one derived from the inbound event,
    so a re-run sends nothing twice).

    send_at: when to send (an aware datetime). botkit holds the message in its queue until then,
    unless it goes through a Messaging Service and is due 15 minutes to 35 days ahead when a
    worker takes it: then Twilio holds it (SendAt) (botkit/outbound/scheduling.py says why).
    status_callback: a URL Twilio posts this message's statuses to instead of botkit's own
    /twilio/status (so ``@bot.on_status`` and campaign counts do not see them).
    smart_encoded: let Twilio replace Unicode look-alikes (curly quotes, dashes) with GSM-7
    characters, so the text costs fewer segments. shorten_urls: let Twilio shorten the links in
    the body (needs a Messaging Service with link shortening). campaign: the campaign the
    message belongs to (set by ``bot.broadcast``), whose counts its outcomes go to.
    """

    media_urls: Iterable[str]
    content_sid: str | None
    content_variables: Mapping[str, str] | None
    from_: str | None
    messaging_service_sid: str | None
    lane: Lane
    valid_for: float | None
    idempotency_key: str | None
    send_at: datetime | None
    status_callback: str | None
    smart_encoded: bool | None
    shorten_urls: bool | None
    campaign: str | None


class OutboundMessage(BaseModel):
    """One message to send. Exactly one of from_ / messaging_service_sid names the sender, or,
    for a message posted into a Conversation, ``conversation_sid`` (then also ``to``) names
    the conversation and ``author`` who posts it (the bot's identity), with optional
    ``attributes`` (a JSON object as a string); Twilio delivers it to the participants.

    lane: replies to a user go ahead of bulk sends. compliance: the STOP confirmation, the one
    message that must reach someone who just opted out. The other fields are SendOptions'.
    Fields left at their defaults are not stored (the queue keeps ``exclude_defaults`` JSON).
    """

    model_config = ConfigDict(frozen=True)

    to: str
    body: str | None = None
    media_urls: tuple[str, ...] = ()
    content_sid: str | None = None
    content_variables: str | None = None
    from_: str | None = None
    messaging_service_sid: str | None = None
    idempotency_key: str
    lane: Lane = "reply"
    compliance: bool = False
    valid_for: float | None = None
    conversation_sid: str | None = None
    author: str | None = None
    attributes: str | None = None
    send_at: AwareDatetime | None = None
    status_callback: str | None = None
    smart_encoded: bool | None = None
    shorten_urls: bool | None = None
    campaign: str | None = None

    @model_validator(mode="after")
    def _check(self) -> OutboundMessage:
        if not self.body and not self.media_urls and not self.content_sid:
            raise ValueError("a message needs a body, media_urls or a content_sid")
        if self.valid_for is not None and not self.valid_for > 0:
            raise ValueError("valid_for must be a number of seconds above 0")
        if self.status_callback is not None and not self.status_callback.startswith(
            ("https://", "http://")
        ):
            raise ValueError("status_callback must be an http(s) URL")
        if self.conversation_sid is not None:
            return self._check_conversation_post()
        if bool(self.from_) == bool(self.messaging_service_sid):
            raise ValueError("a message needs exactly one of from_ or messaging_service_sid")
        if self.shorten_urls and not self.messaging_service_sid:
            raise ValueError("shorten_urls needs a Messaging Service (messaging_service_sid)")
        return self

    def _check_conversation_post(self) -> OutboundMessage:
        if self.from_ or self.messaging_service_sid:
            raise ValueError("a conversation message comes from its author, not from_")
        if not self.author:
            raise ValueError("a conversation message needs an author")
        if self.media_urls:
            raise ValueError(
                "a conversation message cannot carry media_urls (Conversations takes uploaded "
                "media by MediaSid)"
            )
        if self.to != self.conversation_sid:
            raise ValueError("a conversation message goes to its conversation_sid")
        twilio_only = ("send_at", "status_callback", "smart_encoded", "shorten_urls")
        given = [name for name in twilio_only if getattr(self, name) not in (None, False)]
        if given:
            raise ValueError(f"a conversation message takes no {', '.join(given)}")
        return self


class OutboundHandle(BaseModel):
    """What submitting a message returns: our id, its idempotency key, Twilio's SID once known.

    ``created`` is False when the idempotency key had been seen: the message was in line (or
    sent) already and nothing new was queued. A campaign's feeder that feeds a round again
    after a crash counts only what it really added.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    idempotency_key: str
    twilio_sid: str | None = None
    created: bool = True


