"""What a status hook receives: a delivery status callback and the forward move it made."""

from __future__ import annotations

from functools import partial
from typing import Unpack

from botkit.contexts.sending import EventSends
from botkit.outbound.message import OutboundHandle, SendOptions
from botkit.outbound.messenger import From, Messenger, number_on_channel_of
from botkit.outbound.statuses.protocol import StatusChange
from botkit.twilio.status import MessageStatus, StatusCallback


class StatusContext:
    """What a status hook receives: the callback as posted, and the move it made."""

    def __init__(self, callback: StatusCallback, change: StatusChange, sender: Messenger) -> None:
        self.callback = callback
        self.change = change
        self._sends = EventSends(  # not a bound method: no reference cycle (contexts/direct.py)
            sender, f"status:{callback.message_sid}:{change.new}", partial(status_sender, callback)
        )

    @property
    def sid(self) -> str:
        return self.callback.message_sid

    @property
    def status(self) -> MessageStatus:
        return self.change.new

    @property
    def error_code(self) -> int | None:
        return self.change.error_code

    async def send(
        self, to: str, text: str | None = None, **options: Unpack[SendOptions]
    ) -> OutboundHandle:
        """Send a message. The sender defaults to the one the tracked message came from.

        The idempotency key is the MessageSid, the new status and this message's position, so
        hooks re-run after a crash produce the same keys and nothing is sent twice.
        """
        return await self._sends.send(to, text, **options)


def status_sender(callback: StatusCallback, to: str) -> From | None:
    """The message's own sender, on the channel of ``to``: a WhatsApp message that failed can be
    followed up by SMS from the same number."""
    if callback.messaging_service_sid:
        return From(messaging_service_sid=callback.messaging_service_sid)
    if not callback.from_:
        return None
    return number_on_channel_of(to, callback.from_)
