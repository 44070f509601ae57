"""One valid request per ``/twilio/*`` endpoint, as Twilio posts it: what an attacker captures and
then replays, re-cut or re-addressed, in the forgery and fuzz suites.

The server under test runs without workers (``workers=False``): what it accepts stays in the
inbound queue, so "nothing was accepted" is read off the queue's backlog, for all three kinds
of webhook alike.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tests.conftest import ACCOUNT_SID
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params

MESSAGES = "/twilio/messages"
STATUS = "/twilio/status"
CONVERSATIONS = "/twilio/conversations"
ENDPOINTS = (MESSAGES, STATUS, CONVERSATIONS)


def sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def message() -> dict[str, str]:
    return inbound_params("meet me at noon")


def status_callback() -> dict[str, str]:
    message_sid = sid("SM")
    return {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "From": BOT_NUMBER,
        "To": USER,
        "MessageStatus": "delivered",
        "SmsStatus": "delivered",
        "ApiVersion": "2010-04-01",
    }


def conversation_message() -> dict[str, str]:
    return {
        "EventType": "onMessageAdded",
        "AccountSid": ACCOUNT_SID,
        "ChatServiceSid": sid("IS"),
        "ConversationSid": sid("CH"),
        "MessageSid": sid("IM"),
        "Index": "3",
        "Author": USER,
        "Body": "meet me at noon",
        "Attributes": "{}",
        "ParticipantSid": sid("MB"),
        "Source": "SMS",
        "RetryCount": "0",
        "DateCreated": "2024-05-01T10:00:00.123Z",
        "MessagingBinding.Address": USER,
        "MessagingBinding.ProxyAddress": BOT_NUMBER,
    }


#: A fresh valid request for each endpoint.
CAPTURED: dict[str, Callable[[], dict[str, str]]] = {
    MESSAGES: message,
    STATUS: status_callback,
    CONVERSATIONS: conversation_message,
}


def recut(params: dict[str, str], into: str, absorbed: str) -> dict[str, str]:
    """params with the parameter ``absorbed`` merged into the value of ``into`` (name and value
    appended): what the signature sees is unchanged when ``absorbed`` sorts right after
    ``into``."""
    shifted = dict(params)
    shifted[into] = shifted[into] + absorbed + shifted.pop(absorbed)
    return shifted
