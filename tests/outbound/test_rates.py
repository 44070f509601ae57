"""Sender kinds, default and overridden limits, and what a message costs (segments for SMS)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from botkit.outbound.limits.rates import (
    Channel,
    Limit,
    RateTable,
    cost_of,
    message_channel,
    message_cost,
    sender_kind,
    sender_of,
)
from botkit.outbound.message import OutboundMessage
from botkit.sandbox.rates import sender_kind as sandbox_sender_kind

SERVICE = "MG" + "5" * 32


@pytest.mark.parametrize(
    ("sender", "kind"),
    [
        ("+15551230123", "long_code"),
        ("+447700900123", "long_code"),
        ("+18005550123", "toll_free"),
        ("+18335550123", "toll_free"),
        ("+18885550123", "toll_free"),
        ("+18995550123", "long_code"),  # 899 is not a toll-free area code
        ("+448005550123", "long_code"),  # toll-free in the UK, not a US toll-free sender
        ("12345", "short_code"),
        ("898211", "short_code"),
        ("123", "short_code"),
        ("1234567890123", "long_code"),  # too long for a short code
        (SERVICE, "messaging_service"),
        ("whatsapp:+15551230123", "whatsapp"),
        ("WhatsApp:+15551230123", "whatsapp"),
        ("whatsapp:+18005550123", "whatsapp"),  # the channel wins over the number
        ("ACME", "long_code"),  # unknown: the strictest default
        ("", "long_code"),
    ],
)
def test_sender_kinds(sender: str, kind: str) -> None:
    assert sender_kind(sender) == kind
    assert sandbox_sender_kind(sender) == kind  # the sandbox enforces what we keep to


def test_default_limits_are_twilios() -> None:
    table = RateTable()
    assert table.limit_for("+15551230123") == Limit(rate=1, burst=1)
    assert table.limit_for("+18005550123").rate == 3
    assert table.limit_for("12345").rate == 100
    assert table.limit_for(SERVICE).rate == 10
    assert table.limit_for("whatsapp:+15551230123").rate == 80


def test_per_sender_overrides_and_kind_defaults_are_configurable() -> None:
    table = RateTable.model_validate(
        {
            "long_code": 2,
            "toll_free": {"rate": 25, "burst": 5},
            "senders": {"+15551230123": 10, "whatsapp:+15551230123": {"rate": 400}},
        }
    )
    assert table.limit_for("+15551230123") == Limit(rate=10)
    assert table.limit_for("+15559999999") == Limit(rate=2)  # other long codes: kind default
    assert table.limit_for("+18005550123") == Limit(rate=25, burst=5)
    assert table.limit_for("whatsapp:+15551230123").rate == 400
    assert table.limit_for("whatsapp:+15559999999").rate == 80
    assert table.for_kind("short_code").rate == 100


@pytest.mark.parametrize(
    "bad",
    [
        {"long_code": 0},
        {"long_code": -1},
        {"whatsapp": {"rate": 80, "burst": 0.5}},
        {"senders": {"+15551230123": float("inf")}},
        {"long_code": True},
    ],
)
def test_nonsense_limits_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        RateTable.model_validate(bad)


@pytest.mark.parametrize(
    ("to", "media", "channel"),
    [
        ("+15551230123", 0, "sms"),
        ("+15551230123", 2, "mms"),
        ("whatsapp:+15551230123", 0, "whatsapp"),
        ("whatsapp:+15551230123", 1, "whatsapp"),
    ],
)
def test_the_recipient_and_media_decide_the_channel(to: str, media: int, channel: str) -> None:
    assert message_channel(to, media) == channel


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("", 1),
        ("a" * 160, 1),  # GSM-7: 160 in one segment
        ("a" * 161, 2),  # then 153 per part
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets
        ("€" * 81, 2),
        ("ж" * 70, 1),  # one character outside GSM-7 makes it UCS-2: 70 single
        ("ж" * 71, 2),  # then 67 per part
        ("a" * 159 + "ж", 3),  # a GSM-7 body turned UCS-2 by one letter
        ("\U0001f600" * 35, 1),  # emoji: two UCS-2 units each
        ("\U0001f600" * 36, 2),
    ],
)
def test_sms_costs_its_segments(body: str, segments: int) -> None:
    assert message_cost("sms", body) == segments


@pytest.mark.parametrize("channel", ["mms", "whatsapp"])
def test_mms_and_whatsapp_cost_one_whatever_the_body(channel: Channel) -> None:
    assert message_cost(channel, "ж" * 1000) == 1
    assert message_cost(channel, None) == 1


def test_an_outbound_message_names_its_sender_and_cost() -> None:
    long_sms = OutboundMessage(
        to="+15551230123", from_="+15550001111", body="a" * 400, idempotency_key="k1"
    )
    assert (sender_of(long_sms), cost_of(long_sms)) == ("+15550001111", 3)
    pooled = OutboundMessage(
        to="+15551230123",
        messaging_service_sid=SERVICE,
        body="hi",
        media_urls=("https://example.com/a.png",),
        idempotency_key="k2",
    )
    assert (sender_of(pooled), cost_of(pooled)) == (SERVICE, 1)
    whatsapp = OutboundMessage(
        to="whatsapp:+15551230123",
        from_="whatsapp:+15550001111",
        body="ж" * 500,
        idempotency_key="k3",
    )
    assert (sender_of(whatsapp), cost_of(whatsapp)) == ("whatsapp:+15550001111", 1)
