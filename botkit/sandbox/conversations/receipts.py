"""Delivery receipts of a conversation message (``Messages/{Sid}/Receipts``): one per phone the
message was carried to, read from the SMS/WhatsApp message that carried it.

Every conversation message links to its receipts, so they must answer; a receipt's SID is
derived from the carrying message, stable without storing anything more.
"""

from __future__ import annotations

import hashlib
from typing import Any

from botkit.sandbox.conversations.models import ConversationMessage, ParticipantRecord, iso
from botkit.sandbox.messages import MessageRecord

#: The statuses a receipt can have (Twilio's enum); a message not yet sent has no receipt.
RECEIPT_STATUSES = frozenset({"read", "failed", "delivered", "undelivered", "sent"})


def receipt_sid(channel_message_sid: str) -> str:
    digest = hashlib.md5(channel_message_sid.encode(), usedforsecurity=False).hexdigest()
    return "DY" + digest


def receipts_of(
    message: ConversationMessage,
    carried: list[MessageRecord],
    participants: list[ParticipantRecord],
    base: str,
) -> list[dict[str, Any]]:
    """The receipts of message, from the records that carried it to phones (oldest first)."""
    by_address = {p.address: p.sid for p in participants if p.address}
    url = f"{base}/v1/Conversations/{message.conversation_sid}/Messages/{message.sid}/Receipts"
    receipts = []
    for record in carried:
        if record.status not in RECEIPT_STATUSES:
            continue
        sid = receipt_sid(record.sid)
        receipts.append(
            {
                "account_sid": message.account_sid,
                "conversation_sid": message.conversation_sid,
                "sid": sid,
                "message_sid": message.sid,
                "channel_message_sid": record.sid,
                "participant_sid": by_address.get(record.to),
                "status": record.status,
                "error_code": record.error_code or 0,
                "date_created": iso(record.date_created),
                "date_updated": iso(record.date_updated),
                "url": f"{url}/{sid}",
            }
        )
    return receipts
