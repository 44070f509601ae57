"""bench/_webhooks.py: every webhook the inbound benchmark sends is one Twilio could have sent,
signed as the SDK signs, and none repeats."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from twilio.request_validator import RequestValidator

from bench._webhooks import AUTH_TOKEN, NUMBERS, USERS, WebhookMaker, write_requests
from tests.support.webhooks import inbound_params

URL = "http://127.0.0.1:8123/twilio/messages"


def split(request: bytes) -> tuple[str, dict[str, str], dict[str, str]]:
    """(request line, headers, form) of a raw request."""
    head, _, body = request.decode().partition("\r\n\r\n")
    line, *header_lines = head.split("\r\n")
    headers = dict(h.split(": ", 1) for h in header_lines)
    assert int(headers["Content-Length"]) == len(body)
    return line, headers, dict(parse_qsl(body, strict_parsing=True))


def test_webhooks_are_signed_as_the_sdk_signs_them_for_the_url() -> None:
    validator = RequestValidator(AUTH_TOKEN)
    for request in WebhookMaker(URL, 1).batch(300):
        line, headers, form = split(request)
        assert line == "POST /twilio/messages HTTP/1.1"
        assert headers["Host"] == "127.0.0.1:8123"
        assert validator.validate(URL, form, headers["X-Twilio-Signature"])
        assert not validator.validate(
            URL.replace("8123", "8124"), form, headers["X-Twilio-Signature"]
        )


def test_webhooks_have_twilios_ten_fields() -> None:
    _, _, form = split(WebhookMaker(URL, 1).batch(1)[0])
    assert sorted(form) == sorted(inbound_params())
    assert form["SmsSid"] == form["MessageSid"] and form["SmsStatus"] == "received"


def test_no_message_sid_repeats_within_or_across_makers() -> None:
    first, second = WebhookMaker(URL, 1), WebhookMaker(URL, 2)
    requests = first.one_per_user() + first.batch(2000) + second.batch(2000)
    sids = [split(r)[2]["MessageSid"] for r in requests]
    assert len(set(sids)) == len(sids)
    assert all(len(sid) == 34 and sid.startswith("SM") for sid in sids)


def test_five_hundred_users_each_texting_one_of_a_hundred_numbers() -> None:
    forms = [split(r)[2] for r in WebhookMaker(URL, 1).batch(20_000)]
    number_of = {f["From"]: f["To"] for f in forms}
    assert len(number_of) == USERS
    assert len(set(number_of.values())) == NUMBERS
    assert all(number_of[f["From"]] == f["To"] for f in forms)


def test_the_same_sequence_every_run() -> None:
    assert WebhookMaker(URL, 3).batch(50) == WebhookMaker(URL, 3).batch(50)


def test_requests_file_is_length_then_bytes(tmp_path: Path) -> None:
    requests = WebhookMaker(URL, 1).batch(3)
    path = tmp_path / "requests"
    assert write_requests(path, requests) == 3
    data, found = path.read_bytes(), []
    while data:
        size, _, data = data.partition(b"\n")
        found.append(data[: int(size)])
        data = data[int(size) :]
    assert found == requests
