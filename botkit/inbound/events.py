"""What the inbound queue carries: a user's message, a status callback to apply, a
Conversations post-event (a message added to a conversation, a participant joining...), or a
timer that came due.

All kinds of webhook are accepted the same way (durably queued, then answered) and handled by
the same workers, so a status callback gets the guarantees of a message: processed at least
once, surviving a crash after the 200. The payload is a union told apart by ``kind``. A message
is stored as the bare InboundMessage JSON it always was (no ``kind``: "message"), so events
queued by an older version still decode.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter

from botkit.timers.protocol import Timer
from botkit.twilio.address import parse_address
from botkit.twilio.conversation_events import PostEventField
from botkit.twilio.inbound import InboundMessage
from botkit.twilio.status import StatusCallback


class StatusEvent(BaseModel):
    """A status callback as accepted; ``at`` (Unix time of acceptance) identifies this event
    to the status store, which makes a re-run after a crash apply the same change again."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["status"] = "status"
    callback: StatusCallback
    at: float
    #: The campaign the message belongs to, as its StatusCallback URL says (?campaign=...).
    campaign: str | None = None

    @property
    def dedup_id(self) -> str:
        """Twilio posts each status of a message once: a repeat is a duplicate."""
        return f"status:{self.callback.message_sid}:{self.callback.status}"


class ConversationEvent(BaseModel):
    """A Conversations post-event as accepted (botkit/server/conversations_endpoint.py)."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["conversation"] = "conversation"
    event: PostEventField

    @property
    def dedup_id(self) -> str:
        """(EventType, MessageSid/ParticipantSid/ConversationSid, Index or state change)."""
        return self.event.dedup_id


class TimerEvent(BaseModel):
    """A timer that came due (botkit/timers/): its handler runs for the person it names, with
    their session, as if they had written. ``message`` is what the handler sees as
    ``ctx.message``: from the person to the bot's address, with no text, and an id of its own
    (the timer's id, revision and occurrence), which also keys the handler's replies."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["timer"] = "timer"
    timer: Timer

    @property
    def dedup_id(self) -> str:
        return self.message.sid

    @property
    def message(self) -> InboundMessage:
        timer = self.timer
        sender, recipient = parse_address(timer.sender), parse_address(timer.recipient)
        return InboundMessage(
            sid=f"timer:{timer.id}:{timer.rev}:{timer.occurrence}",
            channel="whatsapp" if sender.is_whatsapp else "sms",
            sender=sender,
            recipient=recipient,
            messaging_service_sid=timer.messaging_service_sid,
            params={},
        )


InboundEvent = InboundMessage | StatusEvent | ConversationEvent | TimerEvent


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "message"))
    return str(getattr(value, "kind", "message"))


_EVENT: TypeAdapter[InboundEvent] = TypeAdapter(
    Annotated[
        Annotated[InboundMessage, Tag("message")]
        | Annotated[StatusEvent, Tag("status")]
        | Annotated[ConversationEvent, Tag("conversation")]
        | Annotated[TimerEvent, Tag("timer")],
        Discriminator(_kind),
    ]
)


def decode_event(payload: str) -> InboundEvent:
    """The event a queued payload holds; pydantic's ValidationError if it holds none."""
    return _EVENT.validate_json(payload)
