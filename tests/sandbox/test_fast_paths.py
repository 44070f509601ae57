"""The sandbox's hand-written fast paths give exactly what the plain code they replace gives."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from botkit.sandbox.messages import MessageRecord, rfc2822

ACCOUNT_SID = "AC" + "a1" * 16


def record(**changes: object) -> MessageRecord:
    fields: dict[str, object] = {
        "sid": "SM" + "0" * 32,
        "account_sid": ACCOUNT_SID,
        "to": "+15550001111",
        "from_": "+15550002222",
        "body": "hello",
        "direction": "outbound-api",
        "status": "queued",
        "num_segments": 1,
    }
    fields.update(changes)
    return MessageRecord(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"body": 'quotes " and \\ backslashes, \n newlines \t tabs \x01 controls'},
        {"body": "héllo wörld — 👋 ✓", "num_segments": 3},
        {"body": ""},
        {"to": "whatsapp:+15550001111", "from_": "whatsapp:+15550002222"},
        {"from_": None, "sender_assigned": False, "messaging_service_sid": "MG" + "5" * 32},
        {"from_": "+15550002222", "sender_assigned": False, "status": "accepted"},
        {"error_code": 30003, "error_message": "Unreachable destination handset"},
        {"media_urls": ["https://example.com/a.png", "https://x.test/b"], "sid": "MM" + "1" * 32},
        {"date_sent": datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC)},
        {"date_created": datetime(2021, 1, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))},
        {"direction": "inbound", "status": "received", "num_segments": 0},
    ],
)
def test_json_text_is_json_dumps_of_to_json(changes: dict[str, object]) -> None:
    message = record(**changes)
    assert message.json_text() == json.dumps(message.to_json())


def test_json_text_follows_status_changes() -> None:
    message = record()
    message.set_status("failed", (63016, "Failed to send freeform message"))
    message.date_sent = datetime.now(UTC)
    assert message.json_text() == json.dumps(message.to_json())


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 7, 4, 12, 0, 1, 500_000, tzinfo=UTC),
        datetime(2024, 7, 4, 12, 0, 1, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2024, 7, 4, 12, 0, 1),
        # An ambiguous local time: fold picks the offset.
        datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York")),
        datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
    ],
)
def test_rfc2822_is_format_datetime_to_the_second(moment: datetime) -> None:
    expected = format_datetime(moment.replace(microsecond=0))
    assert rfc2822(moment) == expected
    assert rfc2822(moment) == expected  # cached
    assert rfc2822(None) is None
