"""The sandbox's hand-written fast paths give exactly what the plain code they replace gives."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.api_messages import _segments
from botkit.sandbox.auth import require_account
from botkit.sandbox.errors import ApiError
from botkit.sandbox.ids import new_sid
from botkit.sandbox.messages import MessageRecord, rfc2822
from botkit.twilio.segments import count_segments

ACCOUNT_SID = "AC" + "a1" * 16
SERVICE = "MG" + "5" * 32
FAILING = "+15550004444"
NOT_ON_WHATSAPP = "+15550005555"
TOKEN = "sandbox-test-token-0123456789"


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


# The lifecycle of a message without a StatusCallback runs on timer callbacks, not a task ------

QUIET_CASES = {
    "sms": {},
    "service": {"status": "accepted", "sender_assigned": False, "messaging_service_sid": SERVICE},
    "undelivered": {"to": FAILING},
    "outside the window": {"to": "whatsapp:+15550001111", "from_": "whatsapp:+15550002222"},
    "not on WhatsApp": {"to": f"whatsapp:{NOT_ON_WHATSAPP}", "from_": "whatsapp:+15550002222"},
}


def _sandbox() -> Sandbox:
    return Sandbox(
        SandboxConfig(
            account_sid=ACCOUNT_SID,
            status_step=0.001,
            failing_numbers={FAILING: 30003},
            non_whatsapp_numbers={NOT_ON_WHATSAPP},
        )
    )


def _outcome(message: MessageRecord) -> tuple[object, ...]:
    return (
        [status for status, _ in message.history],
        message.status,
        message.error_code,
        message.error_message,
        message.sender_assigned,
        message.date_sent is not None,
    )


@pytest.mark.parametrize("case", sorted(QUIET_CASES))
async def test_quiet_lifecycle_is_run_outbound(case: str) -> None:
    box = _sandbox()
    quiet, tasked = record(**QUIET_CASES[case]), record(**QUIET_CASES[case])
    box.delivery.start_outbound(quiet)
    await box.delivery.run_outbound(tasked)
    await box.settle()
    assert _outcome(quiet) == _outcome(tasked)
    assert quiet.status in ("delivered", "undelivered", "failed")


async def test_a_canceled_quiet_lifecycle_stops() -> None:
    box = _sandbox()
    message = record(status="accepted", messaging_service_sid=SERVICE, sender_assigned=False)
    box.delivery.start_outbound(message)
    await asyncio.sleep(0)
    box.delivery.cancel(message)
    await box.settle()
    assert [status for status, _ in message.history] == ["canceled"]


async def test_settle_waits_for_quiet_lifecycles_and_close_ends_them() -> None:
    box = _sandbox()
    first, second = record(), record(sid="SM" + "2" * 32)
    box.delivery.start_outbound(first)
    box.delivery.start_outbound(second)
    waiting = asyncio.create_task(box.settle())
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.0005):
            await box.settle()  # a settle that times out leaves the other one waiting
    await waiting
    assert first.status == second.status == "delivered"
    third = record(sid="SM" + "3" * 32)
    box.delivery.start_outbound(third)
    await box.delivery.close()
    await asyncio.sleep(0.01)
    await box.settle()
    assert third.status == "queued" and third.history == []


# Small shortcuts on the create path ---------------------------------------------------------


def test_new_sid_is_a_version_4_uuid_after_its_prefix() -> None:
    for _ in range(200):
        sid = new_sid("SM")
        assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
        assert uuid.UUID(sid[2:]).version == 4
        assert uuid.UUID(sid[2:]).variant == uuid.RFC_4122
    assert len({new_sid("MM") for _ in range(1000)}) == 1000


@pytest.mark.parametrize(
    "body",
    [
        "",
        "hi",
        "a" * 35,
        "é" * 35,
        "👋" * 35,
        "👋" * 36,
        "a" * 80,
        "{" * 80,
        "{" * 81,
        "a" * 160,
        "a" * 161,
        "`" * 40,
        "`" * 80,
        "ü" * 70,
        "ü" * 71,
        "€" * 80,
        "€" * 81,
        "hello ✓" * 6,
    ],
)
def test_segments_is_count_segments(body: str) -> None:
    assert _segments(body) == count_segments(body).segments


def _request(authorization: str | None) -> web.Request:
    headers = {} if authorization is None else {"Authorization": authorization}
    return make_mocked_request("GET", "/", headers=headers, match_info={"account": ACCOUNT_SID})


def _basic(credentials: str, scheme: str = "Basic") -> str:
    return f"{scheme} {base64.b64encode(credentials.encode()).decode()}"


@pytest.mark.parametrize(
    ("authorization", "accepted"),
    [
        (_basic(f"{ACCOUNT_SID}:{TOKEN}"), True),
        (_basic(f"{ACCOUNT_SID}:{TOKEN}", "basic"), True),
        (_basic(f"{ACCOUNT_SID}:{TOKEN}", "BASIC"), True),
        (_basic(f"{ACCOUNT_SID}:{TOKEN}x"), False),
        (_basic(f"{ACCOUNT_SID}:"), False),
        (_basic(f"{ACCOUNT_SID}"), False),
        ("Basic !!!", False),
        ("Bearer abc", False),
        ("", False),
        (None, False),
    ],
)
def test_require_account_accepts_the_account_however_encoded(
    authorization: str | None, accepted: bool
) -> None:
    config = SandboxConfig(account_sid=ACCOUNT_SID, auth_token=TOKEN)
    if accepted:
        assert require_account(_request(authorization), config) == ACCOUNT_SID
    else:
        with pytest.raises(ApiError) as refused:
            require_account(_request(authorization), config)
        assert (refused.value.status, refused.value.code) == (401, 20003)


def test_require_account_follows_a_changed_token_and_checks_the_path() -> None:
    config = SandboxConfig(account_sid=ACCOUNT_SID, auth_token=TOKEN)
    assert require_account(_request(_basic(f"{ACCOUNT_SID}:{TOKEN}")), config) == ACCOUNT_SID
    config.auth_token = "another-token"
    with pytest.raises(ApiError):
        require_account(_request(_basic(f"{ACCOUNT_SID}:{TOKEN}")), config)
    elsewhere = make_mocked_request(
        "GET",
        "/",
        headers={"Authorization": _basic(f"{ACCOUNT_SID}:another-token")},
        match_info={"account": "AC" + "b2" * 16},
    )
    with pytest.raises(ApiError) as missing:
        require_account(elsewhere, config)
    assert (missing.value.status, missing.value.code) == (404, 20404)
