"""Logging: JSON lines, phone numbers masked everywhere, secrets never written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from botkit import Bot, Context
from botkit.logging import configure_logging, get_logger, mask_phone
from tests.conftest import AUTH_TOKEN, StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params


@pytest.fixture(autouse=True)
def restore_structlog() -> Iterator[None]:
    """configure_logging binds the (captured) stdout; put the previous configuration back."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of text parsed as JSON (fails on any line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("+15551230123", "+1555***0123"),
        ("whatsapp:+15551230123", "whatsapp:+1555***0123"),
        ("+447911123456", "+4479***3456"),
        ("to +15551230123 or whatsapp:+447911123456.", "to +1555***0123 or whatsapp:+4479***3456."),
        ("+15551230123,+15559870456", "+1555***0123,+1555***0456"),
    ],
)
def test_mask_phone_hides_the_middle_digits(text: str, masked: str) -> None:
    assert mask_phone(text) == masked
    assert mask_phone(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize(
    "text",
    ["SM0123456789abcdef0123456789abcdef", "order 12345", "+1234", "v1.2.3", "", "Hello!"],
)
def test_mask_phone_leaves_other_text_alone(text: str) -> None:
    assert mask_phone(text) == text


def test_configure_logging_json_writes_one_json_object_per_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    log = get_logger("test")
    log.info("first", count=1)
    log.warning("second", reason="a\nmultiline\nreason")

    lines = json_lines(capsys.readouterr().out)
    assert [line["event"] for line in lines] == ["first", "second"]
    assert [line["level"] for line in lines] == ["info", "warning"]
    assert lines[0]["component"] == "test"
    assert lines[0]["count"] == 1
    assert lines[1]["reason"] == "a\nmultiline\nreason"
    assert all(line["timestamp"].endswith("Z") for line in lines)


def test_configure_logging_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json", "warning")
    log = get_logger("test")
    log.info("dropped")
    log.warning("kept")
    assert [line["event"] for line in json_lines(capsys.readouterr().out)] == ["kept"]


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_numbers_are_masked_and_secrets_redacted_at_any_depth(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    configure_logging(fmt)
    get_logger("test").info(
        "sent to +15551230123",
        to="whatsapp:+15551230123",
        recipients=["+447911123456", ("+15559870456",)],
        request={"params": {"From": "+15551230123"}, "Authorization": "Basic c2VjcmV0"},
        auth_token="tok-top-level",
        TWILIO_AUTH_TOKEN="tok-upper-case",
        password="pw-secret",
        config={"twilio_auth_token": "tok-nested", "token": "tok-nested-2"},
        count=3,
    )
    out = capsys.readouterr().out
    for secret in ("tok-top-level", "tok-upper-case", "pw-secret", "tok-nested", "c2VjcmV0"):
        assert secret not in out
    for number in ("15551230123", "447911123456", "15559870456"):
        assert number not in out
    assert "+1555***0123" in out
    if fmt == "json":
        [line] = json_lines(out)
        assert line["event"] == "sent to +1555***0123"
        assert line["to"] == "whatsapp:+1555***0123"
        assert line["recipients"] == ["+4479***3456", ["+1555***0456"]]
        assert line["request"] == {
            "params": {"From": "+1555***0123"},
            "Authorization": "[redacted]",
        }
        assert line["auth_token"] == "[redacted]"
        assert line["TWILIO_AUTH_TOKEN"] == "[redacted]"
        assert line["config"] == {"twilio_auth_token": "[redacted]", "token": "[redacted]"}
        assert line["count"] == 3


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_numbers_in_exception_tracebacks_are_masked(
    capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    configure_logging(fmt)
    try:
        raise ValueError("cannot deliver to +15551230123")
    except ValueError:
        get_logger("test").exception("handler failed")
    out = capsys.readouterr().out
    assert "ValueError: cannot deliver to +1555***0123" in out
    assert "15551230123" not in out


@pytest.mark.parametrize(
    ("sender", "recipient", "channel"),
    [(USER, BOT_NUMBER, "sms"), (f"whatsapp:{USER}", f"whatsapp:{BOT_NUMBER}", "whatsapp")],
)
async def test_a_handled_message_logs_one_masked_summary_line(
    start_server: StartServer,
    twilio: SandboxTwilio,
    capsys: pytest.CaptureFixture[str],
    sender: str,
    recipient: str,
    channel: str,
) -> None:
    configure_logging("json")
    bot = Bot("logging")

    @bot.intent("greet", keywords=["hi"])
    async def greet(ctx: Context) -> None:
        await ctx.reply(f"hello {ctx.message.sender}")

    server = await start_server(bot)
    forged = await server.client.post("/twilio/messages", data=inbound_params("hi"))
    assert forged.status == 403
    params = inbound_params("hi", From=sender, To=recipient)
    response = await server.post(params)
    assert response.status == 200
    await twilio.wait_for(1)
    await server.idle()
    await server.stop()

    captured = capsys.readouterr()
    output = captured.out + captured.err
    handled = [line for line in json_lines(captured.out) if line["event"] == "message handled"]
    assert len(handled) == 1
    [line] = handled
    assert line["sid"] == params["MessageSid"]
    assert line["channel"] == channel
    assert line["intent"] == "greet"
    assert line["result"] == "ok"
    assert isinstance(line["latency_ms"], int | float)
    assert line["latency_ms"] >= 0
    assert line["sender"] == "+1555***1111"
    assert USER.removeprefix("+") not in output
    assert BOT_NUMBER.removeprefix("+") not in output
    assert AUTH_TOKEN not in output
