"""Anything a parser accepts is queued losslessly: the queued JSON decodes to an equal model.

A webhook gets its 200 once its event is queued, and the inbound workers read the event back
from the queue (botkit/inbound/events.py). An event that does not read back the same is lost
after the 200, as a WhatsApp location of NaN was (stored as null, then "dropping an unreadable
inbound event"). So, for every kind of webhook: take valid parameters, change, add and remove
some with awkward values, and whenever the parser accepts the result, its queued form must
decode to an equal model.

Parameters are text as a form or a JSON body yields it: the server refuses lone surrogates in
JSON bodies before any parser sees them (botkit/twilio/strict_json.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from botkit.inbound.events import ConversationEvent, StatusEvent, decode_event
from botkit.twilio.conversation_events import (
    MalformedConversationEvent,
    MessageAdd,
    parse_conversation_event,
)
from botkit.twilio.inbound import MalformedWebhook, parse_inbound_message
from botkit.twilio.status import MalformedStatusCallback, parse_status_callback
from tests.server.captured import conversation_message, message, status_callback
from tests.support.webhooks import BOT_NUMBER, USER

#: Values the probe and the parsers' own rules make interesting.
AWKWARD = st.sampled_from(
    [
        "", " ", "0", "-0", "1_0", " 12.5 ", "0x10", "1e5", "90", "-90.0000001", "180.5",
        "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e400", "1" * 400,
        "null", "true", "{}", "[]", "[1, 2]", '"text"', '{"a": 1}', '{"a": NaN}',
        '{"a": Infinity}', '{"a": 1e999}', '{"a": -1e999}', '{"a": "\\ud800"}', '{"a": 1.5e308}',
        '{"a": ' + "[" * 40 + "]" * 40 + "}", '{"a": ' + "1" * 5000 + "}", '{"a": -0.0}',
        '[{"Sid": "ME1", "Size": 1e400}]', '[{"Sid": "ME1", "Size": 99999999999999999999}]',
        "2024-05-01T10:00:00.123Z", "2024-05-01T10:00:00.123456789+05:30", "2024-13-01",
        "9999-12-31T23:59:59.999999-23:59", "0001-01-01", "2024-05-01 10:00",
        "SM" + "0" * 32, "MM" + "f" * 32, "IM" + "1" * 32, "MB" + "2" * 32, "CH" + "3" * 32,
        "IS" + "4" * 32, "AC" + "1" * 32, "MG" + "a" * 32, "2010-04-01",
        USER, BOT_NUMBER, f"whatsapp:{USER}", f"whatsapp:{BOT_NUMBER}", "+1", "12345",
        "delivered", "read", "failed", "30003", "63016", "1000000",
        "onMessageAdded", "onMessageAdd", "onParticipantAdded", "onParticipantUpdated",
        "onConversationStateUpdated", "onConversationAdded", "active", "closed",
        "\x00", "\u2028", "\ufeff", "\U0001f600" * 3, "é" * 10,
    ]
)
VALUES = st.one_of(
    AWKWARD,
    st.text(max_size=40),
    st.floats().map(repr),
    st.integers().map(str),
    st.datetimes().map(lambda d: d.isoformat()),
)

MESSAGE_KEYS = [
    "MessageSid", "SmsSid", "SmsMessageSid", "AccountSid", "From", "To", "Body", "NumMedia",
    "MediaUrl0", "MediaContentType0", "MediaUrl1", "MessagingServiceSid", "ApiVersion",
    "ProfileName", "WaId", "Latitude", "Longitude", "Address", "Label", "ButtonText",
    "ButtonPayload", "OriginalRepliedMessageSid", "NumSegments", "OptOutType",
]
STATUS_KEYS = [
    "MessageSid", "SmsSid", "AccountSid", "From", "To", "MessageStatus", "SmsStatus",
    "ApiVersion", "ErrorCode", "MessagingServiceSid", "ChannelStatusMessage",
]
CONVERSATION_KEYS = [
    "EventType", "AccountSid", "ChatServiceSid", "ConversationSid", "MessageSid", "Index",
    "Author", "Body", "Attributes", "Media", "ParticipantSid", "Source", "DateCreated",
    "DateUpdated", "Identity", "RoleSid", "State", "StateFrom", "StateTo", "Reason",
    "UniqueName", "FriendlyName", "ContentSid", "MessagingBinding.Address",
    "MessagingBinding.ProxyAddress", "MessagingBinding.ProjectedAddress",
]

EXAMPLES = settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the work tree; failures print their example
    suppress_health_check=[HealthCheck.too_slow],
)


def whatsapp_message() -> dict[str, str]:
    return {
        **message(),
        "From": f"whatsapp:{USER}",
        "To": f"whatsapp:{BOT_NUMBER}",
        "Latitude": "37.7749",
        "Longitude": "-122.4194",
        "ProfileName": "Ana",
    }


def changed(
    bases: list[Callable[[], dict[str, str]]], keys: list[str]
) -> st.SearchStrategy[dict[str, str]]:
    """A valid request of one of ``bases``, with some of ``keys`` (or new ones) set to awkward
    values, and some removed (a None value)."""
    names = st.one_of(st.sampled_from(keys), st.text(min_size=1, max_size=12))
    changes = st.dictionaries(names, st.one_of(st.none(), VALUES), max_size=6)

    def apply(base: Callable[[], dict[str, str]], edits: dict[str, str | None]) -> dict[str, str]:
        params = base()
        for name, value in edits.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return params

    return st.builds(apply, st.sampled_from(bases), changes)


@EXAMPLES
@given(changed([message, whatsapp_message], MESSAGE_KEYS))
@example({**whatsapp_message(), "Latitude": "nan"})
@example({**whatsapp_message(), "Longitude": "-inf"})
@example({**whatsapp_message(), "Latitude": "1e400"})
def test_every_accepted_message_reads_back_from_the_queue(params: dict[str, str]) -> None:
    try:
        accepted = parse_inbound_message(params)
    except MalformedWebhook:
        return
    assert decode_event(accepted.model_dump_json()) == accepted


@EXAMPLES
@given(changed([status_callback], STATUS_KEYS))
def test_every_accepted_status_callback_reads_back_from_the_queue(
    params: dict[str, str],
) -> None:
    try:
        accepted = StatusEvent(callback=parse_status_callback(params), at=time.time())
    except MalformedStatusCallback:
        return
    assert decode_event(accepted.model_dump_json()) == accepted


def participant_event() -> dict[str, str]:
    params = conversation_message()
    for name in ("MessageSid", "Index", "Author", "Body", "Source"):
        del params[name]
    return {**params, "EventType": "onParticipantUpdated", "Identity": "agent-7",
            "DateUpdated": "2024-05-01T10:00:00.123Z"}


def state_event() -> dict[str, str]:
    return {**participant_event(), "EventType": "onConversationStateUpdated",
            "StateFrom": "active", "StateTo": "inactive", "Reason": "TIMER"}


@EXAMPLES
@given(changed([conversation_message, participant_event, state_event], CONVERSATION_KEYS))
@example({**conversation_message(), "Attributes": '{"a": NaN}'})
@example({**conversation_message(), "Attributes": '{"a": 1e999}'})
@example({**conversation_message(), "Attributes": '{"a": "\\ud800"}'})
@example({**participant_event(), "Attributes": '[-Infinity]'})
def test_every_accepted_conversation_event_reads_back_from_the_queue(
    params: dict[str, str],
) -> None:
    try:
        event = parse_conversation_event(params)
    except MalformedConversationEvent:
        return
    if event is None or isinstance(event, MessageAdd):  # ignored, or answered at once
        return
    accepted = ConversationEvent(event=event)
    assert decode_event(accepted.model_dump_json()) == accepted


def test_the_examples_reach_accepted_payloads() -> None:
    """Guards the strategies: most valid requests with one awkward value are still accepted,
    so the properties above are not vacuously true."""
    assert parse_inbound_message({**whatsapp_message(), "Label": "nan"}).whatsapp is not None
    assert parse_status_callback({**status_callback(), "ErrorCode": "30003"}).error_code == 30003
    assert parse_conversation_event({**conversation_message(), "Attributes": '{"a": 1e5}'})
