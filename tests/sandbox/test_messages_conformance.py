"""Every kind of Messages API response conforms to the response schema of its operation in
Twilio's own OpenAPI description (../shared/twilio-oai/twilio_api_v2010.json).

Responses are taken over plain HTTP, so the test sees the JSON exactly as the sandbox sends it.
Schemas are checked closed (every field Twilio declares present, none it does not), with Twilio's
formats (RFC 2822 dates, phone numbers, relative URIs). The OAI declares no error responses for
these operations; error documents are checked against Twilio's error shape instead, and against
the OAI's if it ever declares one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import jsonschema
import pytest

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.config import MessagingService
from tests.support import oai

ACCOUNT_SID = "AC" + "c0" * 16
AUTH_TOKEN = "conformance-token"
BOT = "+15550002222"
USER = "+15550001111"
FAILING = "+15550004444"
SERVICE = "MG" + "3" * 32
POOL = ["+15550006001", "whatsapp:+15550006002"]
MESSAGES = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

ERROR_STATUSES = ("400", "401", "403", "404", "409", "429", "500")


def message_path(sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    body: bytes
    content_type: str

    def json(self) -> Any:
        return json.loads(self.body)


class Recorder:
    """Sends requests to the sandbox and keeps every exchange for validation."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.exchanges: list[Exchange] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> Exchange:
        async with self.session.request(method, path, **kwargs) as response:
            exchange = Exchange(
                method, path, response.status, await response.read(), response.content_type
            )
        self.exchanges.append(exchange)
        return exchange

    async def create(self, **form: Any) -> Exchange:
        return await self.call("POST", MESSAGES, data=form)

    async def schedule(self, body: str) -> Exchange:
        """Create a message from the service's pool, scheduled for an hour from now."""
        send_at = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return await self.create(
            To=USER, MessagingServiceSid=SERVICE, Body=body, ScheduleType="fixed", SendAt=send_at
        )


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(
        SandboxConfig(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            status_step=0.01,
            failing_numbers={FAILING: 30006},
            services=[MessagingService(sid=SERVICE, numbers=POOL)],
        )
    )
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def recorder(sandbox: Sandbox) -> AsyncIterator[Recorder]:
    auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    async with aiohttp.ClientSession(base_url=sandbox.url, auth=auth) as session:
        yield Recorder(session)


def assert_conforms(exchange: Exchange) -> None:
    """The exchange's body matches the schema its operation declares for its status."""
    spec = oai.load_spec()
    declared = oai.declared_statuses(spec, exchange.method, exchange.path)
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    if exchange.status >= 400 and str(exchange.status) not in declared:
        schema: dict[str, Any] | None = oai.TWILIO_ERROR_SCHEMA
    else:
        assert str(exchange.status) in declared, f"{where}: status not declared by the OAI"
        schema = oai.response_schema(
            spec, exchange.method, exchange.path, exchange.status, closed=True
        )
    if schema is None:
        assert exchange.body == b"", f"{where}: the OAI declares no body"
        return
    assert exchange.content_type == "application/json", where
    problems = oai.errors(exchange.json(), schema)
    assert not problems, f"{where}:\n" + "\n".join(problems)


def assert_all_conform(recorder: Recorder) -> None:
    assert recorder.exchanges
    for exchange in recorder.exchanges:
        assert_conforms(exchange)


# The helper itself --------------------------------------------------------------------------


def test_the_oai_message_schema_is_translated_to_json_schema() -> None:
    spec = oai.load_spec()
    schema = oai.response_schema(spec, "GET", message_path("SM" + "0" * 32), 200, closed=True)
    assert schema is not None
    properties = schema["properties"]
    assert properties["num_segments"]["type"] == ["string", "null"]  # nullable: true
    assert properties["date_sent"]["format"] == "date-time-rfc-2822"
    assert "queued" in properties["status"]["enum"]  # $ref into components/schemas resolved
    assert set(schema["required"]) == set(properties)
    assert schema["additionalProperties"] is False
    assert oai.response_schema(spec, "DELETE", message_path("SM" + "0" * 32), 204) is None


def test_the_messages_operations_declare_no_error_responses() -> None:
    """Why errors are checked against Twilio's error shape: the OAI has none to offer."""
    spec = oai.load_spec()
    operations = [
        ("POST", MESSAGES),
        ("GET", MESSAGES),
        ("GET", message_path("SM" + "0" * 32)),
        ("POST", message_path("SM" + "0" * 32)),
        ("DELETE", message_path("SM" + "0" * 32)),
    ]
    for method, path in operations:
        declared = oai.declared_statuses(spec, method, path)
        assert not declared & set(ERROR_STATUSES), (method, path, declared)


GOOD_MESSAGE: dict[str, Any] = {
    "account_sid": ACCOUNT_SID,
    "api_version": "2010-04-01",
    "body": "hi",
    "date_created": "Thu, 30 Jul 2015 20:12:31 +0000",
    "date_sent": None,
    "date_updated": "Thu, 30 Jul 2015 20:12:33 +0000",
    "direction": "outbound-api",
    "error_code": None,
    "error_message": None,
    "from": BOT,
    "messaging_service_sid": None,
    "num_media": "0",
    "num_segments": "1",
    "price": None,
    "price_unit": "USD",
    "sid": "SM" + "1" * 32,
    "status": "queued",
    "subresource_uris": {"media": "/2010-04-01/Accounts/AC/Messages/SM/Media.json"},
    "to": USER,
    "uri": "/2010-04-01/Accounts/AC/Messages/SM.json",
}


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"num_segments": 1}, "num_segments must be a string"),
        ({"num_media": 0}, "num_media must be a string"),
        ({"date_created": "2015-07-30T20:12:31Z"}, "dates must be RFC 2822"),
        ({"date_created": "Thu, 30 Jul 2015 20:12:31 GMT"}, "Twilio writes +0000"),
        ({"status": "pending"}, "status is an enum"),
        ({"direction": "outbound"}, "direction is an enum"),
        ({"sid": "XX" + "1" * 32}, "sid pattern"),
        ({"error_code": "30003"}, "error_code is an integer"),
        ({"from": "5550002222"}, "from is a phone number"),
        ({"extra_field": 1}, "no fields Twilio does not have"),
        ({"uri": None, "subresource_uris": 7}, "subresource_uris is an object"),
    ],
)
def test_a_wrong_document_is_caught(change: dict[str, Any], why: str) -> None:
    spec = oai.load_spec()
    schema = oai.response_schema(spec, "GET", message_path("SM" + "0" * 32), 200, closed=True)
    assert schema is not None
    oai.validate(GOOD_MESSAGE, schema)
    with pytest.raises(jsonschema.ValidationError):
        oai.validate({**GOOD_MESSAGE, **change}, schema)
    missing = dict(GOOD_MESSAGE)
    del missing["price"]
    assert oai.errors(missing, schema), "a missing field must be caught in closed mode"


# The sandbox's responses --------------------------------------------------------------------


async def test_create_responses_conform(recorder: Recorder, sandbox: Sandbox) -> None:
    send_at = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kinds = [
        {"To": USER, "From": BOT, "Body": "plain SMS"},
        {"To": USER, "From": BOT, "Body": "ж" * 100},
        {"To": USER, "From": BOT, "MediaUrl": "https://example.com/cat.png"},
        {"To": USER, "MessagingServiceSid": SERVICE, "Body": "pooled, from is null"},
        {"To": USER, "MessagingServiceSid": SERVICE, "Body": "later", "ScheduleType": "fixed"}
        | {"SendAt": send_at},
        {"To": "whatsapp:" + USER, "From": "whatsapp:" + BOT, "Body": "WhatsApp"},
        {"To": USER, "From": BOT, "Body": "callback", "StatusCallback": "https://x.test/s"},
        # The delivery options botkit's SendOptions map to (botkit/outbound/worker.py).
        {"To": USER, "From": BOT, "Body": "valid 10 min", "ValidityPeriod": "600"},
        {"To": USER, "From": BOT, "Body": "\u201csmart\u201d", "SmartEncoded": "true"},
        {"To": USER, "MessagingServiceSid": SERVICE, "Body": "https://a.test/x"}
        | {"ShortenUrls": "true"},
        {"To": USER, "From": BOT, "Body": "third try", "Attempt": "3"},
    ]
    for form in kinds:
        exchange = await recorder.create(**form)
        assert exchange.status == 201, exchange.body
    assert_all_conform(recorder)
    statuses = [e.json()["status"] for e in recorder.exchanges]
    assert statuses == [
        "queued", "queued", "queued", "accepted", "scheduled", "queued", "queued",
        "queued", "queued", "accepted", "queued",
    ]


async def test_fetch_responses_conform_in_every_status(
    recorder: Recorder, sandbox: Sandbox
) -> None:
    created = [
        await recorder.create(To=USER, From=BOT, Body="delivered"),
        await recorder.create(To=FAILING, From=BOT, Body="undelivered 30006"),
        await recorder.create(To="whatsapp:" + USER, From="whatsapp:" + BOT, Body="63016"),
        await recorder.create(To=USER, MessagingServiceSid=SERVICE, Body="pooled"),
    ]
    scheduled = await recorder.schedule("canceled")
    async with recorder.session.post(
        f"/sandbox/phones/{quote(USER, safe='')}/messages", json={"to": BOT, "body": "inbound"}
    ) as response:
        inbound_sid = (await response.json())["sid"]
    await recorder.call("POST", message_path(scheduled.json()["sid"]), data={"Status": "canceled"})
    await sandbox.settle()
    sids = [e.json()["sid"] for e in created] + [scheduled.json()["sid"], inbound_sid]
    recorder.exchanges.clear()
    for sid in sids:
        exchange = await recorder.call("GET", message_path(sid))
        assert exchange.status == 200
    assert_all_conform(recorder)
    documents = [e.json() for e in recorder.exchanges]
    assert [d["status"] for d in documents] == [
        "delivered",
        "undelivered",
        "failed",
        "delivered",
        "canceled",
        "received",
    ]
    assert [d["error_code"] for d in documents] == [None, 30006, 63016, None, None, None]
    assert documents[-1]["direction"] == "inbound"


async def test_list_pages_conform(recorder: Recorder, sandbox: Sandbox) -> None:
    for index in range(5):
        await recorder.create(To=USER, From=BOT, Body=f"#{index}")
    await sandbox.settle()
    recorder.exchanges.clear()
    first = await recorder.call("GET", MESSAGES, params={"PageSize": "2"})
    page = first.json()
    while page["next_page_uri"]:
        exchange = await recorder.call("GET", page["next_page_uri"])
        page = exchange.json()
    await recorder.call("GET", MESSAGES, params={"To": "+15559999999"})  # an empty page
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    await recorder.call("GET", MESSAGES, params={"DateSent>": today, "From": BOT})
    await recorder.call("GET", MESSAGES, params={"PageSize": "1000"})
    assert [e.status for e in recorder.exchanges] == [200] * 6
    assert_all_conform(recorder)
    assert [len(e.json()["messages"]) for e in recorder.exchanges] == [2, 2, 1, 0, 5, 5]


async def test_update_and_delete_responses_conform(recorder: Recorder, sandbox: Sandbox) -> None:
    message = await recorder.create(To=USER, From=BOT, Body="redact me")
    await sandbox.settle()
    sid = message.json()["sid"]
    redacted = await recorder.call("POST", message_path(sid), data={"Body": ""})
    assert (redacted.status, redacted.json()["body"]) == (200, "")
    scheduled = await recorder.schedule("cancel me")
    canceled = await recorder.call(
        "POST", message_path(scheduled.json()["sid"]), data={"Status": "canceled"}
    )
    assert canceled.json()["status"] == "canceled"
    deleted = await recorder.call("DELETE", message_path(sid))
    assert deleted.status == 204
    assert_all_conform(recorder)


async def test_error_documents_conform(recorder: Recorder, sandbox: Sandbox) -> None:
    expected: list[tuple[int, int]] = []

    async def expect(status: int, code: int, exchange: Exchange) -> None:
        assert (exchange.status, exchange.json()["code"]) == (status, code), exchange.body
        expected.append((status, code))

    await expect(400, 21604, await recorder.create(From=BOT, Body="x"))
    await expect(400, 21603, await recorder.create(To=USER, Body="x"))
    await expect(400, 21602, await recorder.create(To=USER, From=BOT))
    await expect(400, 21211, await recorder.create(To="+1", From=BOT, Body="x"))
    await expect(400, 90007, await recorder.create(To=USER, From=BOT, Body="x",
                                                   ValidityPeriod="36001"))
    await expect(400, 90014, await recorder.create(To=USER, From=BOT, Body="x",
                                                   ValidityPeriod="0"))
    await expect(400, 20001, await recorder.create(To=USER, From=BOT, Body="x",
                                                   ShortenUrls="true"))
    await expect(404, 20404, await recorder.call("GET", message_path("SM" + "9" * 32)))
    await expect(400, 20001, await recorder.call("GET", MESSAGES, params={"PageSize": "0"}))
    queued = await recorder.create(To=USER, From=BOT, Body="x")
    await expect(409, 20009, await recorder.call("DELETE", message_path(queued.json()["sid"])))
    await sandbox.settle()
    await expect(
        400,
        30409,
        await recorder.call(
            "POST", message_path(queued.json()["sid"]), data={"Status": "canceled"}
        ),
    )
    async with aiohttp.ClientSession(base_url=sandbox.url) as anonymous:
        stranger = Recorder(anonymous)
        await expect(401, 20003, await stranger.call("GET", MESSAGES))
        recorder.exchanges.extend(stranger.exchanges)
    assert len(expected) == 12
    recorder.exchanges = [e for e in recorder.exchanges if e.status >= 400]
    assert_all_conform(recorder)


async def test_rate_limited_creates_conform() -> None:
    strict = Sandbox(
        SandboxConfig(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, strict_rates=True)
    )
    await strict.start()
    try:
        auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
        async with aiohttp.ClientSession(base_url=strict.url, auth=auth) as session:
            recorder = Recorder(session)
            assert (await recorder.create(To=USER, From=BOT, Body="1")).status == 201
            limited = await recorder.create(To=USER, From=BOT, Body="2")
            assert (limited.status, limited.json()["code"]) == (429, 20429)
            assert_all_conform(recorder)
    finally:
        await strict.stop()
