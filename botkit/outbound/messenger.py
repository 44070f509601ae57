"""Turning "send this text to that person" into an OutboundMessage with a sender and a key.

ctx.reply, ctx.send and bot.send all come through here, so sender defaults and idempotency keys
are decided in one place.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Unpack

from pydantic import ValidationError

from botkit.errors import SendError
from botkit.outbound.message import OutboundHandle, OutboundMessage, SendOptions
from botkit.outbound.outbox import Outbox
from botkit.twilio.address import parse_address, sender_problem
from botkit.twilio.inbound import InboundMessage

#: SendOptions that become OutboundMessage fields unchanged.
PASSED_AS_IS = (
    "valid_for", "send_at", "status_callback", "smart_encoded", "shorten_urls", "campaign"
)


@dataclass(frozen=True)
class From:
    """Who a message is sent from: a number (``whatsapp:`` kept) or a Messaging Service."""

    number: str | None = None
    messaging_service_sid: str | None = None


def chosen_sender(from_: str | None, messaging_service_sid: str | None) -> From | None:
    """The sender a caller named explicitly, if any."""
    if from_ or messaging_service_sid:
        return From(number=from_, messaging_service_sid=messaging_service_sid)
    return None


def number_on_channel_of(to: str, number: str) -> From:
    """``number`` (with or without ``whatsapp:``) on the channel of ``to``: a WhatsApp chat can
    be followed up by SMS from the same number, and the other way round."""
    bare = number.removeprefix("whatsapp:")
    whatsapp = to.strip().lower().startswith("whatsapp:")
    return From(number=f"whatsapp:{bare}" if whatsapp else bare)


def reply_sender(message: InboundMessage) -> From:
    """Replies come from the number or Messaging Service the user wrote to."""
    if message.messaging_service_sid:
        return From(messaging_service_sid=message.messaging_service_sid)
    return From(number=str(message.recipient))


class Messenger:
    """Turns "send this to that person" into an OutboundMessage and hands it to the outbox:
    the one place that checks the address, picks the sender and fills in the key."""

    def __init__(self, outbox: Outbox, default: From) -> None:
        self.outbox = outbox
        self.default = default

    async def send(
        self,
        to: str,
        text: str | None = None,
        *,
        default: From | None = None,
        compliance: bool = False,
        **options: Unpack[SendOptions],
    ) -> OutboundHandle:
        """``default``: the sender when the caller named none (else the Messenger's own).
        ``compliance``: the STOP confirmation, the one message that skips the opt-out check."""
        try:
            parse_address(to)
        except ValueError as exc:
            raise SendError(f"cannot send to {to!r}: {exc}") from None
        chosen = (
            chosen_sender(options.get("from_"), options.get("messaging_service_sid"))
            or default
            or self.default
        )
        if not chosen.number and not chosen.messaging_service_sid:
            raise SendError(
                "no sender: pass from_ or messaging_service_sid, "
                "or set BOTKIT_MESSAGING_SERVICE_SID"
            )
        problem = sender_problem(chosen.number, chosen.messaging_service_sid)
        if problem:
            raise SendError(problem)
        return await self._submit(
            to,
            text,
            options,
            from_=None if chosen.messaging_service_sid else chosen.number,
            messaging_service_sid=chosen.messaging_service_sid,
            compliance=compliance,
        )

    async def post(
        self,
        conversation_sid: str,
        text: str | None = None,
        *,
        author: str,
        attributes: Mapping[str, Any] | None = None,
        **options: Unpack[SendOptions],
    ) -> OutboundHandle:
        """Post into a conversation as ``author``, through the same queue as every send: with
        retries, an idempotency key and a dead letter when Twilio refuses it for good."""
        if options.get("from_") or options.get("messaging_service_sid"):
            raise SendError("a conversation message comes from its author, not from_")
        return await self._submit(
            conversation_sid,
            text,
            options,
            conversation_sid=conversation_sid,
            author=author,
            attributes=json.dumps(dict(attributes)) if attributes else None,
        )

    async def _submit(
        self, to: str, text: str | None, options: SendOptions, **fields: Any
    ) -> OutboundHandle:
        variables = options.get("content_variables")
        try:
            message = OutboundMessage(
                to=to,
                body=text,
                media_urls=tuple(options.get("media_urls", ())),
                content_sid=options.get("content_sid"),
                content_variables=json.dumps(dict(variables)) if variables else None,
                idempotency_key=options.get("idempotency_key") or uuid.uuid4().hex,
                lane=options.get("lane", "reply"),
                **{name: options[name] for name in PASSED_AS_IS if name in options},  # type: ignore[literal-required]
                **fields,
            )
        except ValidationError as exc:
            raise SendError(f"cannot send to {to!r}: {first_problem(exc)}") from None
        return await self.outbox.submit(message)


def first_problem(error: ValidationError) -> str:
    """A model check's message as one line, without pydantic's "Value error, " prefix, and
    naming the option when one field is wrong ("send_at: Input should have timezone info"):
    pydantic's own messages do not say which of a dozen options they are about."""
    first = error.errors()[0]
    problem = str(first["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in first["loc"])
    return f"{field}: {problem}" if field else problem
