"""The pure conversions under the client: ISO 8601 durations, Attributes, webhook participants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from botkit.conversations.models import Participant, parse_attributes
from botkit.conversations.params import iso_duration, whatsapp_address


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(minutes=10), "PT10M"),
        (timedelta(hours=1, minutes=30), "PT1H30M"),
        (timedelta(days=1), "P1D"),
        (timedelta(days=2, hours=3, seconds=4), "P2DT3H4S"),
        (timedelta(seconds=0.5), "PT0.5S"),
        ("pt10m", "PT10M"),
        ("P1W", "P1W"),
    ],
)
def test_iso_durations(value: timedelta | str, expected: str) -> None:
    assert iso_duration(value) == expected


@pytest.mark.parametrize("bad", ["10m", "P", "PT", "P1DT", "PT-5M", ""])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        iso_duration(bad)


def test_attributes_that_are_not_an_object_are_kept() -> None:
    assert parse_attributes(None) == {} and parse_attributes("{}") == {}
    assert parse_attributes('{"a": [1]}') == {"a": [1]}
    assert parse_attributes('["x"]') == {"value": ["x"]}
    assert parse_attributes("not json") == {"value": "not json"}


def test_whatsapp_addresses_get_their_prefix_once() -> None:
    assert whatsapp_address("+15550101001") == "whatsapp:+15550101001"
    assert whatsapp_address("whatsapp:+15550101001") == "whatsapp:+15550101001"


def test_participant_from_webhook_fields() -> None:
    params = {
        "EventType": "onParticipantAdded",
        "ConversationSid": "CH" + "a" * 32,
        "ParticipantSid": "MB" + "b" * 32,
        "MessagingBinding.Address": "+15550101001",
        "Attributes": '{"role": "customer"}',
        "DateCreated": "2025-01-01T12:00:00.123Z",
        "Source": "API",
    }
    group = Participant.from_webhook(params)
    assert (group.kind, group.address, group.author) == (
        "group_mms",
        "+15550101001",
        "+15550101001",
    )
    assert group.attributes == {"role": "customer"} and group.date_updated is None
    assert group.date_created is not None and group.date_created.microsecond == 123000

    agent = Participant.from_webhook(
        {**params, "MessagingBinding.Address": "", "Identity": "agent", "DateCreated": "bad"}
    )
    assert (agent.kind, agent.identity, agent.author, agent.date_created) == (
        "chat",
        "agent",
        "agent",
        None,
    )
    with pytest.raises(KeyError):
        Participant.from_webhook({"ConversationSid": "CH" + "a" * 32})
