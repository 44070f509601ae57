"""The bridge between a conversation and its phone participants, in the outbound direction.

Every conversation message goes to each SMS/WhatsApp participant except its author, as an
ordinary outbound Message from the participant's ProxyAddress (or, for a group-MMS member, the
conversation's projected address). It is recorded and run through the same lifecycle as a
Messages API send, so it appears in the phone's transcript, in the event stream, in the send
records, and gets statuses. The inbound direction is ``ConversationsService.route_inbound``.
"""

from __future__ import annotations

from typing import Any

from botkit.sandbox.content import render_message
from botkit.sandbox.conversations.models import (
    ConversationMessage,
    ConversationRecord,
    ParticipantRecord,
)
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.ids import new_sid
from botkit.sandbox.messages import MessageRecord
from botkit.sandbox.state import SandboxState
from botkit.twilio.segments import count_segments

OPTED_OUT = (21610, "Attempt to send to unsubscribed recipient")
#: Which Message statuses count as each field of a conversation message's ``delivery``.
_SUMMARY = {
    "sent": ("sent", "delivered", "read"),
    "delivered": ("delivered", "read"),
    "read": ("read",),
    "failed": ("failed",),
    "undelivered": ("undelivered",),
}


class PhoneBridge:
    def __init__(self, state: SandboxState, delivery: Delivery) -> None:
        self.state = state
        self.delivery = delivery

    def deliver(
        self,
        conversation: ConversationRecord,
        message: ConversationMessage,
        recipients: list[ParticipantRecord],
        media_urls: list[str],
        projected: str | None,
    ) -> list[str]:
        """Send message to each phone recipient; the SIDs of the Messages created.

        ``projected`` is the conversation's group-MMS address, the sender for members that have
        no ProxyAddress of their own.
        """
        sids: list[str] = []
        for participant in recipients:
            if participant.address is None:
                continue
            sender = participant.proxy_address or projected
            if sender is None:
                continue
            record = self._record(conversation, message, participant.address, sender, media_urls)
            sids.append(record.sid)
        return sids

    def _record(
        self,
        conversation: ConversationRecord,
        message: ConversationMessage,
        to: str,
        sender: str,
        media_urls: list[str],
    ) -> MessageRecord:
        whatsapp = to.startswith("whatsapp:")
        body, media, actions = message.body or "", list(media_urls), []
        if message.content_sid:
            rendered = render_message(
                self.state.contents,
                message.content_sid,
                "whatsapp" if whatsapp else "sms",
                message.content_variables,
            )
            body, media, actions = rendered.body, rendered.media_urls, rendered.actions
        service_sid = conversation.messaging_service_sid
        record = MessageRecord(
            sid=new_sid("MM" if media else "SM"),
            account_sid=conversation.account_sid,
            to=to,
            from_=sender,
            body=body,
            direction="outbound-api",
            status="accepted" if service_sid else "queued",
            num_segments=1 if whatsapp else count_segments(body).segments,
            media_urls=media,
            media_types=["image/jpeg"] * len(media),
            messaging_service_sid=service_sid,
            content_sid=message.content_sid,
            content_variables=message.content_variables,
            actions=actions,
            conversation_sid=conversation.sid,
            author=message.author,
        )
        self.state.phone(to)
        consent_key = service_sid or sender.removeprefix("whatsapp:")
        if (to.removeprefix("whatsapp:"), consent_key) in self.state.opted_out:
            record.set_status("failed", OPTED_OUT)
            self.state.add_message(record)
            return record
        self.state.rates.record(service_sid or sender, record.num_segments, record.sid)
        self.state.add_message(record)
        self.delivery.spawn(self.delivery.run_outbound(record))
        return record

    def summary(self, sids: list[str]) -> dict[str, Any] | None:
        """Twilio's ``delivery`` of a conversation message: its number of phone deliveries, and
        for each status whether none, some or all of them reached it (None without phones)."""
        if not sids:
            return None
        statuses = [
            record.status for sid in sids if (record := self.state.messages.get(sid)) is not None
        ]
        result: dict[str, Any] = {"total": len(sids)}
        for name, matching in _SUMMARY.items():
            count = sum(1 for status in statuses if status in matching)
            result[name] = "none" if count == 0 else "all" if count == len(sids) else "some"
        return result
