"""The sandbox's Messages API and Twilio behaviour, driven through the official twilio SDK (async
and sync clients, each with a URL-rewriting http client) and the sandbox's own HTTP API."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.config import MessagingService, OwnedNumber
from botkit.twilio.client import ANSWERED_AT, create_async_client
from tests.support.twilio_sync import create_sync_client

ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "sandbox-test-token-0123456789"

BOT = "+15550002222"
BOT2 = "+15550002323"
USER = "+15550001111"
USER2 = "+15550003333"
FAILING = "+15550004444"
NOT_ON_WHATSAPP = "+15550005555"
WA_BOT = f"whatsapp:{BOT}"
WA_USER = f"whatsapp:{USER}"
SERVICE = "MG" + "5" * 32
POOL = ["+15550006001", "+15550006002", "whatsapp:+15550006003"]

RFC2822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$"
)


# A receiver for status callbacks and inbound webhooks --------------------------------------


@dataclass
class Hit:
    url: str
    path: str
    params: dict[str, str]
    signature: str

    def signed_with(self, token: str) -> bool:
        return bool(RequestValidator(token).validate(self.url, self.params, self.signature))


@dataclass
class Receiver:
    """An HTTP server that records every form POST, as a bot's webhook endpoint would get it."""

    server: TestServer | None = None
    hits: list[Hit] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        form = await request.post()
        params = {key: str(value) for key, value in form.items()}
        signature = request.headers.get("X-Twilio-Signature", "")
        self.hits.append(Hit(str(request.url), request.path, params, signature))
        return web.Response(
            text='<?xml version="1.0" encoding="UTF-8"?><Response />', content_type="text/xml"
        )

    def url(self, path: str) -> str:
        assert self.server is not None
        return str(self.server.make_url(path))

    def at(self, path: str) -> list[Hit]:
        return [hit for hit in self.hits if hit.path == path]

    def statuses(self, sid: str) -> list[str]:
        return [h.params["MessageStatus"] for h in self.hits if h.params.get("MessageSid") == sid]

    async def wait_for(self, path: str, count: int = 1, timeout: float = 5.0) -> list[Hit]:
        async with asyncio.timeout(timeout):
            while len(self.at(path)) < count:
                await asyncio.sleep(0.005)
        return self.at(path)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    receiver.server = TestServer(app, host="127.0.0.1")
    await receiver.server.start_server()
    yield receiver
    await receiver.server.close()


# Sandboxes and SDK clients -----------------------------------------------------------------

MakeSandbox = Callable[..., Awaitable[Sandbox]]


@pytest.fixture
async def make_sandbox(receiver: Receiver) -> AsyncIterator[MakeSandbox]:
    """make_sandbox(**config) starts a sandbox: test account, fast lifecycle, a failing number,
    a non-WhatsApp number and a Messaging Service whose inbound webhook is the receiver."""
    started: list[Sandbox] = []

    async def make(**overrides: Any) -> Sandbox:
        config: dict[str, Any] = {
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
            "status_step": 0.01,
            "failing_numbers": {FAILING: 30003},
            "non_whatsapp_numbers": {NOT_ON_WHATSAPP},
            "services": [
                MessagingService(sid=SERVICE, numbers=POOL, inbound_url=receiver.url("/service"))
            ],
        }
        config.update(overrides)
        sandbox = Sandbox(SandboxConfig(**config))
        await sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        await sandbox.stop()


@pytest.fixture
async def sandbox(make_sandbox: MakeSandbox) -> Sandbox:
    return await make_sandbox()


class Api:
    """One SDK client, async or sync, behind the same awaitable calls (sync ones run in a
    worker thread, since the sandbox serves from this test's event loop)."""

    def __init__(self, client: Client, kind: str) -> None:
        self.client = client
        self.kind = kind

    async def _call(self, target: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if self.kind == "async":
            return await getattr(target, f"{name}_async")(*args, **kwargs)
        return await asyncio.to_thread(getattr(target, name), *args, **kwargs)

    async def create(self, **kwargs: Any) -> Any:
        return await self._call(self.client.messages, "create", **kwargs)

    async def fetch(self, sid: str) -> Any:
        return await self._call(self.client.messages(sid), "fetch")

    async def update(self, sid: str, **kwargs: Any) -> Any:
        return await self._call(self.client.messages(sid), "update", **kwargs)

    async def delete(self, sid: str) -> Any:
        return await self._call(self.client.messages(sid), "delete")

    async def list(self, **kwargs: Any) -> list[Any]:
        result: list[Any] = await self._call(self.client.messages, "list", **kwargs)
        return result

    async def page(self, **kwargs: Any) -> Any:
        return await self._call(self.client.messages, "page", **kwargs)

    async def next_page(self, page: Any) -> Any:
        return await self._call(page, "next_page")

    async def previous_page(self, page: Any) -> Any:
        return await self._call(page, "previous_page")

    async def close(self) -> None:
        if self.kind == "async":
            await self.client.http_client.close()
        else:
            self.client.http_client.session.close()


def make_client(sandbox: Sandbox, kind: str, token: str = AUTH_TOKEN) -> Api:
    if kind == "async":
        return Api(create_async_client(ACCOUNT_SID, token, sandbox.url), kind)
    return Api(create_sync_client(ACCOUNT_SID, token, sandbox.url), kind)


@pytest.fixture(params=["async", "sync"])
async def api(request: pytest.FixtureRequest, sandbox: Sandbox) -> AsyncIterator[Api]:
    client = make_client(sandbox, request.param)
    yield client
    await client.close()


@pytest.fixture
async def aapi(sandbox: Sandbox) -> AsyncIterator[Api]:
    """The async client alone, for behaviour that does not depend on the client."""
    client = make_client(sandbox, "async")
    yield client
    await client.close()


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP session for the sandbox's own API (phones, numbers, sends)."""
    async with aiohttp.ClientSession(
        base_url=sandbox.url, auth=aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
    ) as session:
        yield session


async def phone_texts(
    http: aiohttp.ClientSession, phone: str, to: str, body: str, **extra: Any
) -> dict[str, Any]:
    """The phone at ``phone`` texts ``to`` through POST /sandbox/phones/{address}/messages."""
    async with http.post(
        f"/sandbox/phones/{quote(phone, safe='')}/messages", json={"to": to, "body": body, **extra}
    ) as response:
        assert response.status == 201, await response.text()
        data: dict[str, Any] = await response.json()
    return data


def messages_path(sid: str | None = None) -> str:
    base = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages"
    return f"{base}/{sid}.json" if sid else f"{base}.json"


async def raises(code: int, status: int, work: Awaitable[Any]) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        await work
    assert (caught.value.code, caught.value.status) == (code, status), caught.value.msg
    return caught.value


# Create, fetch, list, update, delete ------------------------------------------------------


async def test_create_returns_twilios_message_resource(api: Api, sandbox: Sandbox) -> None:
    message = await api.create(to=USER, from_=BOT, body="Hello there")
    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert message.account_sid == ACCOUNT_SID
    assert (message.to, message.from_, message.body) == (USER, BOT, "Hello there")
    assert message.status == "queued"
    assert message.direction == "outbound-api"
    assert message.api_version == "2010-04-01"
    assert message.num_segments == "1"
    assert message.num_media == "0"
    assert message.messaging_service_sid is None
    assert message.error_code is None and message.error_message is None
    assert message.date_sent is None
    assert isinstance(message.date_created, datetime)  # the SDK parsed an RFC 2822 date
    assert message.date_created.utcoffset() == timedelta(0)
    assert message.uri == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message.sid}.json"
    base = message.uri.removesuffix(".json")
    assert message.subresource_uris == {
        "media": f"{base}/Media.json",
        "feedback": f"{base}/Feedback.json",
    }


async def test_the_async_client_says_when_each_answer_came_back(sandbox: Sandbox) -> None:
    # The outbound worker's pacer charges a send from its answer; the client stamps it as soon as
    # the answer's headers are in, before the SDK parses the body.
    client = create_async_client(ACCOUNT_SID, AUTH_TOKEN, sandbox.url)
    try:
        ANSWERED_AT.set(None)
        before = time.time()
        await client.messages.create_async(to=USER, from_=BOT, body="Hello there")
        answered = ANSWERED_AT.get()
        assert answered is not None and before <= answered <= time.time()
    finally:
        await client.http_client.close()


async def test_fetch_and_list_return_what_create_made(api: Api, sandbox: Sandbox) -> None:
    created = await api.create(to=USER, from_=BOT, body="fetch me")
    fetched = await api.fetch(created.sid)
    assert (fetched.sid, fetched.body, fetched.to, fetched.from_) == (
        created.sid,
        "fetch me",
        USER,
        BOT,
    )
    listed = await api.list()
    assert [m.sid for m in listed] == [created.sid]
    await sandbox.settle()
    delivered = await api.fetch(created.sid)
    assert delivered.status == "delivered"
    assert isinstance(delivered.date_sent, datetime)
    assert delivered.date_sent >= created.date_created


async def test_dates_on_the_wire_are_rfc_2822(
    aapi: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    message = await aapi.create(to=USER, from_=BOT, body="dates")
    await sandbox.settle()
    async with http.get(messages_path(message.sid)) as response:
        data = await response.json()
    for name in ("date_created", "date_updated", "date_sent"):
        assert RFC2822.match(data[name]), data[name]
        assert parsedate_to_datetime(data[name]).utcoffset() == timedelta(0)
    assert abs(parsedate_to_datetime(data["date_created"]) - datetime.now(UTC)) < timedelta(
        seconds=30
    )


async def test_fetch_of_an_unknown_message_is_20404(api: Api, sandbox: Sandbox) -> None:
    error = await raises(20404, 404, api.fetch("SM" + "0" * 32))
    assert "was not found" in error.msg


async def test_redact_a_message_body(api: Api, sandbox: Sandbox) -> None:
    message = await api.create(to=USER, from_=BOT, body="my secret code is 1234")
    await sandbox.settle()
    redacted = await api.update(message.sid, body="")
    assert redacted.body == ""
    assert (await api.fetch(message.sid)).body == ""
    assert redacted.status == "delivered"
    await raises(20001, 400, api.update(message.sid, body="not empty"))


async def test_cancel_a_scheduled_message(
    api: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    send_at = datetime.now(UTC) + timedelta(hours=1)
    message = await api.create(
        to=USER,
        messaging_service_sid=SERVICE,
        body="tomorrow's reminder",
        schedule_type="fixed",
        send_at=send_at,
        status_callback=receiver.url("/status"),
    )
    assert message.status == "scheduled"
    assert message.from_ is None  # the pool picks a sender only when it is sent
    canceled = await api.update(message.sid, status="canceled")
    assert canceled.status == "canceled"
    await sandbox.settle()
    await receiver.wait_for("/status")
    assert receiver.statuses(message.sid) == ["canceled"]
    fetched = await api.fetch(message.sid)
    assert (fetched.status, fetched.date_sent) == ("canceled", None)
    await raises(30409, 400, api.update(message.sid, status="canceled"))


async def test_scheduling_needs_send_at_in_twilios_window(api: Api, sandbox: Sandbox) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    common = {"to": USER, "messaging_service_sid": SERVICE, "body": "x"}
    await raises(35114, 400, api.create(schedule_type="fixed", send_at=soon, **common))
    too_late = datetime.now(UTC) + timedelta(days=40)
    await raises(35114, 400, api.create(schedule_type="fixed", send_at=too_late, **common))
    await raises(35111, 400, api.create(schedule_type="fixed", **common))


async def test_a_scheduled_message_is_sent_when_due(
    make_sandbox: MakeSandbox, receiver: Receiver
) -> None:
    sandbox = await make_sandbox(schedule_min_lead=0.0)
    api = make_client(sandbox, "async")
    try:
        message = await api.create(
            to=USER,
            messaging_service_sid=SERVICE,
            body="on time",
            schedule_type="fixed",
            send_at=datetime.now(UTC) + timedelta(seconds=1),
            status_callback=receiver.url("/status"),
        )
        assert message.status == "scheduled"
        assert await sends(sandbox, SERVICE) == []  # not sent yet, so not a send yet
        hits = await receiver.wait_for("/status", count=4)
        lifecycle = [h.params["MessageStatus"] for h in hits]
        assert lifecycle == ["queued", "sending", "sent", "delivered"]
        fetched = await api.fetch(message.sid)
        assert fetched.from_ in POOL[:2]
        assert fetched.date_sent >= message.date_created + timedelta(seconds=1)
        assert [r["sid"] for r in await sends(sandbox, SERVICE)] == [message.sid]
    finally:
        await api.close()


async def test_cancel_a_queued_message(make_sandbox: MakeSandbox, receiver: Receiver) -> None:
    sandbox = await make_sandbox(status_step=0.3)
    api = make_client(sandbox, "async")
    try:
        message = await api.create(
            to=USER, from_=BOT, body="never mind", status_callback=receiver.url("/status")
        )
        assert message.status == "queued"
        canceled = await api.update(message.sid, status="canceled")
        assert canceled.status == "canceled"
        await sandbox.settle()
        fetched = await api.fetch(message.sid)
        assert (fetched.status, fetched.date_sent) == ("canceled", None)
        assert receiver.statuses(message.sid) == ["canceled"]
    finally:
        await api.close()


async def test_a_sent_message_cannot_be_canceled(api: Api, sandbox: Sandbox) -> None:
    message = await api.create(to=USER, from_=BOT, body="too late")
    await sandbox.settle()
    error = await raises(30409, 400, api.update(message.sid, status="canceled"))
    assert "cannot be canceled" in error.msg
    assert (await api.fetch(message.sid)).status == "delivered"


async def test_delete_a_message(api: Api, sandbox: Sandbox) -> None:
    message = await api.create(to=USER, from_=BOT, body="delete me")
    await sandbox.settle()
    assert await api.delete(message.sid) is True
    await raises(20404, 404, api.fetch(message.sid))
    assert await api.list() == []


async def test_a_message_in_flight_cannot_be_deleted(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await make_sandbox(status_step=0.3)
    api = make_client(sandbox, "sync")
    try:
        message = await api.create(to=USER, from_=BOT, body="still queued")
        await raises(20009, 409, api.delete(message.sid))
        assert (await api.fetch(message.sid)).sid == message.sid
    finally:
        await api.close()


# List filters and paging -------------------------------------------------------------------


async def test_list_filters_by_to_and_from(api: Api, sandbox: Sandbox) -> None:
    a = await api.create(to=USER, from_=BOT, body="a")
    b = await api.create(to=USER2, from_=BOT, body="b")
    c = await api.create(to=USER, from_=BOT2, body="c")
    assert [m.sid for m in await api.list(to=USER)] == [c.sid, a.sid]  # newest first
    assert [m.sid for m in await api.list(from_=BOT)] == [b.sid, a.sid]
    assert [m.sid for m in await api.list(to=USER, from_=BOT2)] == [c.sid]
    assert await api.list(to="+15559999999") == []


async def test_list_filters_by_date_sent(api: Api, sandbox: Sandbox) -> None:
    sent = [await api.create(to=USER, from_=BOT, body=str(i)) for i in range(3)]
    await sandbox.settle()
    expected = sorted(m.sid for m in sent)
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday, tomorrow = today - timedelta(days=1), today + timedelta(days=1)

    async def sids(**filters: Any) -> list[str]:
        return sorted(m.sid for m in await api.list(**filters))

    assert await sids(date_sent=today) == expected
    assert await sids(date_sent=yesterday) == []
    assert await sids(date_sent_before=today) == expected  # on or before
    assert await sids(date_sent_before=yesterday) == []
    assert await sids(date_sent_after=today) == expected  # on or after
    assert await sids(date_sent_after=tomorrow) == []
    assert await sids(date_sent_after=yesterday, date_sent_before=tomorrow) == expected
    assert await sids(to=USER2, date_sent=today) == []


async def test_paging_through_every_page(api: Api, sandbox: Sandbox) -> None:
    created = [await api.create(to=USER, from_=BOT, body=f"#{i}") for i in range(7)]
    newest_first = [m.sid for m in reversed(created)]

    page = await api.page(page_size=3)
    seen: list[str] = []
    numbers: list[int] = []
    while page is not None:
        payload = page._payload
        numbers.append(payload["page"])
        assert payload["page_size"] == 3
        assert payload["start"] == len(seen)
        seen.extend(m.sid for m in page)
        assert payload["end"] == len(seen) - 1
        next_uri = payload["next_page_uri"]
        if next_uri is not None:
            assert next_uri.startswith(messages_path())  # relative, like Twilio's
            query = parse_qs(urlsplit(next_uri).query)
            assert query["PageSize"] == ["3"]
            assert query["Page"] == [str(payload["page"] + 1)]
            assert query["PageToken"] == [f"PA{seen[-1]}"]
        assert payload["first_page_uri"].startswith(messages_path())
        page = await api.next_page(page)
    assert seen == newest_first
    assert numbers == [0, 1, 2]

    # The SDK's own auto-paging list gives the same, whatever the page size.
    assert [m.sid for m in await api.list(page_size=2)] == newest_first
    assert [m.sid for m in await api.list(limit=4, page_size=3)] == newest_first[:4]


async def test_page_tokens_survive_new_messages_and_go_back(api: Api, sandbox: Sandbox) -> None:
    created = [await api.create(to=USER, from_=BOT, body=f"#{i}") for i in range(6)]
    first = await api.page(page_size=2)
    first_sids = [m.sid for m in first]
    # Newer messages arrive while the client pages: offsets would shift; page tokens do not.
    await api.create(to=USER, from_=BOT, body="late 1")
    await api.create(to=USER, from_=BOT, body="late 2")
    second = await api.next_page(first)
    third = await api.next_page(second)
    walked = first_sids + [m.sid for m in second] + [m.sid for m in third]
    assert walked == [m.sid for m in reversed(created)]
    assert third._payload["next_page_uri"] is None
    back = await api.previous_page(third)
    assert [m.sid for m in back] == [m.sid for m in reversed(created)][2:4]
    # A page can be asked for directly by number and token, as the SDK's page() does.
    direct = await api.page(page_size=2, page_number=1, page_token=f"PA{first_sids[-1]}")
    assert [m.sid for m in direct] == walked[2:4]


# Authentication and errors -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_wrong_credentials_are_401_code_20003(sandbox: Sandbox, kind: str) -> None:
    api = make_client(sandbox, kind, token="not-the-token")
    try:
        error = await raises(20003, 401, api.create(to=USER, from_=BOT, body="hi"))
        assert error.uri.endswith("/Messages.json")
        await raises(20003, 401, api.fetch("SM" + "0" * 32))
        # The SDK's list pages raise a plain TwilioException carrying the response.
        with pytest.raises(TwilioException) as caught:
            await api.list()
        assert "20003" in str(caught.value)
    finally:
        await api.close()


async def test_error_documents_are_shaped_like_twilios(sandbox: Sandbox) -> None:
    async with aiohttp.ClientSession(base_url=sandbox.url) as anonymous:
        async with anonymous.get(messages_path()) as response:
            assert response.status == 401
            assert await response.json() == {
                "code": 20003,
                "message": (await response.json())["message"],
                "more_info": "https://www.twilio.com/docs/errors/20003",
                "status": 401,
            }
        auth = aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)
        async with anonymous.post(
            messages_path(), data={"From": BOT, "Body": "x"}, auth=auth
        ) as response:
            assert response.status == 400
            assert response.content_type == "application/json"
            document = await response.json()
    assert set(document) == {"code", "message", "more_info", "status"}
    assert document["code"] == 21604
    assert document["status"] == 400
    assert document["more_info"] == "https://www.twilio.com/docs/errors/21604"
    assert isinstance(document["message"], str) and document["message"]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": "+1555", "from_": BOT, "body": "x"}, 21211),
        ({"to": "555-000-1111", "from_": BOT, "body": "x"}, 21211),
        ({"to": "sms:+15550001111", "from_": BOT, "body": "x"}, 21211),
        ({"to": "", "from_": BOT, "body": "x"}, 21604),
        ({"to": USER, "body": "x"}, 21603),
        ({"to": USER, "from_": BOT}, 21602),
        ({"to": USER, "from_": BOT, "body": ""}, 21602),
        ({"to": USER, "from_": BOT, "body": "x" * 1601}, 21617),
        ({"to": USER, "from_": USER, "body": "x"}, 21266),
        ({"to": WA_USER, "from_": BOT, "body": "x"}, 21910),
    ],
    ids=[
        "short-to",
        "not-e164",
        "bad-scheme",
        "missing-to",
        "missing-from",
        "missing-body",
        "empty-body",
        "too-long",
        "to-is-from",
        "mixed-channels",
    ],
)
async def test_invalid_creates_get_twilios_codes(
    api: Api, sandbox: Sandbox, params: dict[str, Any], code: int
) -> None:
    await raises(code, 400, api.create(**params))
    assert await api.list() == []


# Opt-out -----------------------------------------------------------------------------------


async def test_a_phone_that_texted_stop_is_refused_with_21610_until_start(
    api: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await api.create(to=USER, from_=BOT, body="before STOP")
    await phone_texts(http, USER, BOT, "STOP PLEASE")  # not a keyword: only the word alone
    await api.create(to=USER, from_=BOT, body="still fine")
    await phone_texts(http, USER, BOT, "  stop ")
    error = await raises(21610, 400, api.create(to=USER, from_=BOT, body="after STOP"))
    assert "unsubscribed" in error.msg
    await api.create(to=USER2, from_=BOT, body="other people still get messages")
    await api.create(to=USER, from_=BOT2, body="the opt-out is per sender")
    await phone_texts(http, USER, BOT, "HELP")  # help answers, and changes nothing
    await raises(21610, 400, api.create(to=USER, from_=BOT, body="still opted out"))
    await phone_texts(http, USER, BOT, "START")
    await api.create(to=USER, from_=BOT, body="welcome back")
    await sandbox.settle()
    # Twilio answered the keywords itself, newest first.
    listed = await api.list(to=USER, from_=BOT)
    replies = [m.body for m in listed if m.direction == "outbound-reply"]
    assert len(replies) == 3
    assert "re-subscribed" in replies[0]
    assert replies[1].startswith("Reply STOP to unsubscribe")
    assert "successfully been unsubscribed" in replies[2]


@pytest.mark.parametrize(("answers", "flagged"), [(True, True), (False, False)])
async def test_the_webhook_carries_opt_out_type_when_twilio_answered_the_keyword(
    make_sandbox: MakeSandbox, receiver: Receiver, answers: bool, flagged: bool
) -> None:
    """Advanced Opt-Out: Twilio says on the webhook that its own handling answered STOP, START
    or HELP, so the bot does not answer again."""
    url = receiver.url("/sms")
    sandbox = await make_sandbox(
        numbers=[OwnedNumber(number=BOT, sms_url=url)], keyword_replies=answers
    )
    async with aiohttp.ClientSession(base_url=sandbox.url) as http:
        for body in ("stop", "HELP", "Start", "hello", "STOP PLEASE"):
            await phone_texts(http, USER, BOT, body)
    hits = await receiver.wait_for("/sms", 5)
    found = {hit.params["Body"]: hit.params.get("OptOutType") for hit in hits}
    types = ("STOP", "HELP", "START") if flagged else (None, None, None)
    assert found == {
        "stop": types[0],
        "HELP": types[1],
        "Start": types[2],
        "hello": None,
        "STOP PLEASE": None,
    }


async def test_opt_out_covers_a_messaging_services_whole_pool(
    aapi: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await phone_texts(http, USER, POOL[0], "UNSUBSCRIBE")
    await raises(21610, 400, aapi.create(to=USER, messaging_service_sid=SERVICE, body="x"))
    await raises(21610, 400, aapi.create(to=USER, from_=POOL[1], body="x"))
    await aapi.create(to=USER, from_=BOT, body="a number outside the service is not covered")
    await phone_texts(http, USER, POOL[1], "unstop")
    await aapi.create(to=USER, messaging_service_sid=SERVICE, body="x")


# WhatsApp ----------------------------------------------------------------------------------


async def test_whatsapp_free_form_outside_the_window_fails_63016(
    api: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    message = await api.create(
        to=WA_USER, from_=WA_BOT, body="hi!", status_callback=receiver.url("/status")
    )
    assert message.status == "queued"  # accepted: the failure comes asynchronously
    assert message.num_segments == "1"
    await sandbox.settle()
    fetched = await api.fetch(message.sid)
    assert (fetched.status, fetched.error_code) == ("failed", 63016)
    assert fetched.error_message
    final = receiver.at("/status")[-1].params
    assert (final["MessageStatus"], final["ErrorCode"]) == ("failed", "63016")


async def test_whatsapp_free_form_inside_the_window_is_delivered(
    api: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    inbound = await phone_texts(http, WA_USER, WA_BOT, "hello business")
    assert inbound["direction"] == "inbound"
    message = await api.create(to=WA_USER, from_=WA_BOT, body="hello, how can we help?")
    await sandbox.settle()
    fetched = await api.fetch(message.sid)
    assert (fetched.status, fetched.error_code) == ("delivered", None)
    # The window belongs to that user and that sender only.
    other = await api.create(to="whatsapp:" + USER2, from_=WA_BOT, body="hi")
    await sandbox.settle()
    assert (await api.fetch(other.sid)).error_code == 63016


async def test_whatsapp_template_outside_the_window_is_delivered(
    api: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    template = {
        "friendly_name": "order_update",
        "language": "en",
        "variables": {"1": "customer"},
        "types": {"twilio/text": {"body": "Hi {{1}}, your order has shipped."}},
    }
    async with http.post("/v1/Content", json=template) as response:
        assert response.status == 201, await response.text()
        content_sid = (await response.json())["sid"]
    message = await api.create(
        to=WA_USER,
        from_=WA_BOT,
        content_sid=content_sid,
        content_variables='{"1": "Ada"}',
    )
    await sandbox.settle()
    fetched = await api.fetch(message.sid)
    assert (fetched.status, fetched.error_code) == ("delivered", None)
    assert fetched.body == "Hi Ada, your order has shipped."


async def test_not_a_whatsapp_user_fails_63003(
    api: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    message = await api.create(to=f"whatsapp:{NOT_ON_WHATSAPP}", from_=WA_BOT, body="hi")
    await sandbox.settle()
    fetched = await api.fetch(message.sid)
    assert (fetched.status, fetched.error_code) == ("failed", 63003)
    # The same number is fine over SMS.
    sms = await api.create(to=NOT_ON_WHATSAPP, from_=BOT, body="hi")
    await sandbox.settle()
    assert (await api.fetch(sms.sid)).status == "delivered"


# Segments and media ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("{" * 80, "1"),  # extension characters cost two septets
        ("{" * 81, "2"),
        ("ж" * 70, "1"),  # UCS-2
        ("ж" * 71, "2"),
        ("\U0001f600" * 35, "1"),  # emoji: two UCS-2 units each
        ("\U0001f600" * 36, "2"),
        ("a" * 306, "2"),
        ("ж" * 135, "3"),
    ],
    ids=lambda value: f"{len(value)}" if isinstance(value, str) and len(value) > 2 else value,
)
async def test_num_segments_is_a_string_counted_like_twilio(
    aapi: Api, sandbox: Sandbox, body: str, segments: str
) -> None:
    message = await aapi.create(to=USER, from_=BOT, body=body)
    assert message.num_segments == segments
    assert (await aapi.fetch(message.sid)).num_segments == segments


async def test_media_messages_are_mms_with_num_media(api: Api, sandbox: Sandbox) -> None:
    urls = ["https://example.com/a.png", "https://example.com/b.jpg"]
    message = await api.create(to=USER, from_=BOT, body="two pictures", media_url=urls)
    assert message.sid.startswith("MM")
    assert message.num_media == "2"
    assert message.num_segments == "1"
    picture_only = await api.create(to=USER, from_=BOT, media_url=urls[:1])
    assert (picture_only.num_media, picture_only.body) == ("1", "")
    await raises(21623, 400, api.create(to=USER, from_=BOT, media_url=urls * 6))


# Status lifecycle and callbacks -------------------------------------------------------------


async def test_status_lifecycle_posts_signed_callbacks_in_order(
    api: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    callback = receiver.url("/status?tag=lifecycle")
    message = await api.create(to=USER, from_=BOT, body="track me", status_callback=callback)
    assert message.status == "queued"  # the initial status gets no callback
    await sandbox.settle()
    hits = receiver.at("/status")
    assert [h.params["MessageStatus"] for h in hits] == ["sending", "sent", "delivered"]
    for hit in hits:
        assert hit.url == callback  # query string included, as signed
        assert hit.signed_with(AUTH_TOKEN)
        assert not hit.signed_with("some-other-token")
        assert hit.params["MessageSid"] == message.sid
        assert hit.params["SmsSid"] == message.sid
        assert hit.params["SmsStatus"] == hit.params["MessageStatus"]
        assert hit.params["AccountSid"] == ACCOUNT_SID
        assert (hit.params["From"], hit.params["To"]) == (BOT, USER)
        assert hit.params["ApiVersion"] == "2010-04-01"
        assert "ErrorCode" not in hit.params
    fetched = await api.fetch(message.sid)
    assert fetched.status == "delivered"


async def test_a_failing_number_ends_undelivered_with_its_error_code(
    api: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    message = await api.create(
        to=FAILING, from_=BOT, body="you will not get this", status_callback=receiver.url("/s")
    )
    await sandbox.settle()
    hits = receiver.at("/s")
    assert [h.params["MessageStatus"] for h in hits] == ["sending", "sent", "undelivered"]
    assert hits[-1].params["ErrorCode"] == "30003"
    assert all(h.signed_with(AUTH_TOKEN) for h in hits)
    fetched = await api.fetch(message.sid)
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)
    assert fetched.error_message


async def test_a_tampered_callback_fails_validation(
    aapi: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    await aapi.create(to=USER, from_=BOT, body="x", status_callback=receiver.url("/status"))
    await sandbox.settle()
    hit = receiver.at("/status")[0]
    assert hit.signed_with(AUTH_TOKEN)
    forged = Hit(hit.url, hit.path, {**hit.params, "MessageStatus": "failed"}, hit.signature)
    assert not forged.signed_with(AUTH_TOKEN)


# Inbound messages from phones ---------------------------------------------------------------


def assert_inbound_webhook(hit: Hit, *, sid: str, body: str, url: str) -> None:
    assert hit.url == url
    assert hit.signed_with(AUTH_TOKEN)
    params = hit.params
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"] == sid
    assert params["AccountSid"] == ACCOUNT_SID
    assert (params["From"], params["To"], params["Body"]) == (USER, BOT, body)
    assert params["SmsStatus"] == "received"
    assert params["NumSegments"] == "1"
    assert params["ApiVersion"] == "2010-04-01"
    assert params["FromCountry"] == params["ToCountry"] == "US"


async def test_inbound_message_posts_a_signed_webhook_to_the_configured_number(
    make_sandbox: MakeSandbox, receiver: Receiver
) -> None:
    url = receiver.url("/sms?bot=one")
    sandbox = await make_sandbox(numbers=[OwnedNumber(number=BOT, sms_url=url)])
    async with aiohttp.ClientSession(base_url=sandbox.url) as http:
        inbound = await phone_texts(http, USER, BOT, "hi bot")
    api = make_client(sandbox, "async")
    try:
        (hit,) = await receiver.wait_for("/sms")
        assert_inbound_webhook(hit, sid=inbound["sid"], body="hi bot", url=url)
        assert hit.params["NumMedia"] == "0"
        fetched = await api.fetch(inbound["sid"])
        assert (fetched.direction, fetched.status) == ("inbound", "received")
        assert (fetched.from_, fetched.to, fetched.body) == (USER, BOT, "hi bot")
        assert isinstance(fetched.date_sent, datetime)
    finally:
        await api.close()


async def test_put_number_sets_its_webhook_and_mms_carries_media(
    sandbox: Sandbox, receiver: Receiver, http: aiohttp.ClientSession, aapi: Api
) -> None:
    url = receiver.url("/incoming")
    async with http.put(f"/sandbox/numbers/{quote(BOT, safe='')}", json={"sms_url": url}) as r:
        assert r.status == 200
        assert (await r.json())["sms_url"] == url
    inbound = await phone_texts(
        http,
        USER,
        BOT,
        "look",
        media_urls=["https://example.com/cat.png"],
        media_types=["image/png"],
    )
    (hit,) = await receiver.wait_for("/incoming")
    assert_inbound_webhook(hit, sid=inbound["sid"], body="look", url=url)
    assert inbound["sid"].startswith("MM")
    assert hit.params["NumMedia"] == "1"
    assert hit.params["MediaUrl0"] == "https://example.com/cat.png"
    assert hit.params["MediaContentType0"] == "image/png"
    assert (await aapi.fetch(inbound["sid"])).num_media == "1"
    # Numbers nobody configured get no webhook.
    await phone_texts(http, USER, BOT2, "anyone?")
    await sandbox.settle()
    assert len(receiver.hits) == 1


async def test_whatsapp_inbound_carries_whatsapp_fields(
    sandbox: Sandbox, receiver: Receiver, http: aiohttp.ClientSession
) -> None:
    sandbox.own_number(BOT, receiver.url("/wa"))
    await phone_texts(http, WA_USER, BOT, "hola", profile_name="Ada")
    (hit,) = await receiver.wait_for("/wa")
    assert hit.signed_with(AUTH_TOKEN)
    assert (hit.params["From"], hit.params["To"]) == (WA_USER, WA_BOT)
    assert hit.params["WaId"] == USER.lstrip("+")
    assert hit.params["ProfileName"] == "Ada"
    assert hit.params["MessageType"] == "text"


# Rates and send records ---------------------------------------------------------------------


async def sends(sandbox: Sandbox, sender: str) -> list[dict[str, Any]]:
    url = f"{sandbox.url}/sandbox/sends"
    async with aiohttp.ClientSession() as session, session.get(url, params={"sender": sender}) as r:
        data: dict[str, Any] = await r.json()
    result: list[dict[str, Any]] = data["sends"]
    return result


async def test_strict_mode_refuses_a_long_code_burst_with_20429(
    make_sandbox: MakeSandbox,
) -> None:
    sandbox = await make_sandbox(strict_rates=True)
    api = make_client(sandbox, "async")
    try:
        before = time.time()
        first = await api.create(to=USER, from_=BOT, body="one")
        error = await raises(20429, 429, api.create(to=USER2, from_=BOT, body="two"))
        assert "Too Many Requests" in error.msg
        await api.create(to=USER, from_=BOT2, body="another sender has its own rate")
        records = await sends(sandbox, BOT)
        assert [r["sid"] for r in records] == [first.sid]  # refused sends are not sends
        assert before <= records[0]["at"] <= time.time()
        assert (records[0]["kind"], records[0]["rate"], records[0]["units"]) == (
            "long_code",
            1.0,
            1,
        )
    finally:
        await api.close()


async def test_strict_mode_counts_segments_and_admits_a_paced_sender(
    make_sandbox: MakeSandbox,
) -> None:
    rates = {"long_code": 10.0, "toll_free": 3.0, "short_code": 100.0}
    rates |= {"messaging_service": 10.0, "whatsapp": 80.0}
    sandbox = await make_sandbox(strict_rates=True, rates=rates)
    api = make_client(sandbox, "async")
    try:
        long_body = "a" * 400  # 3 segments: 300 ms of a 10 segments/s long code
        await api.create(to=USER, from_=BOT, body=long_body)
        await raises(20429, 429, api.create(to=USER, from_=BOT, body="short"))
        await asyncio.sleep(0.31)
        await api.create(to=USER, from_=BOT, body="short")
        for _ in range(3):
            await asyncio.sleep(0.11)
            await api.create(to=USER, from_=BOT, body="paced")
        records = await sends(sandbox, BOT)
        assert [r["units"] for r in records] == [3, 1, 1, 1, 1]
        for earlier, later in itertools.pairwise(records):
            assert later["at"] - earlier["at"] >= earlier["units"] / 10.0 - 0.011
    finally:
        await api.close()


async def test_every_send_is_recorded_per_sender(api: Api, sandbox: Sandbox) -> None:
    a = [await api.create(to=USER, from_=BOT, body="x" * 200) for _ in range(3)]
    b = [await api.create(to=USER, from_=BOT2, body="y") for _ in range(2)]
    service = await api.create(to=USER2, messaging_service_sid=SERVICE, body="z")
    records = await sends(sandbox, BOT)
    assert [r["sid"] for r in records] == [m.sid for m in a]
    assert [r["units"] for r in records] == [2, 2, 2]
    stamps = [r["at"] for r in records]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3  # precise, not rounded
    assert [r["sid"] for r in await sends(sandbox, BOT2)] == [m.sid for m in b]
    (pooled,) = await sends(sandbox, SERVICE)
    assert (pooled["sid"], pooled["kind"], pooled["rate"]) == (
        service.sid,
        "messaging_service",
        10.0,
    )


# Messaging Services -------------------------------------------------------------------------


async def test_a_messaging_service_picks_a_sender_from_its_pool(
    api: Api, sandbox: Sandbox, receiver: Receiver
) -> None:
    message = await api.create(
        to=USER,
        messaging_service_sid=SERVICE,
        body="from the pool",
        status_callback=receiver.url("/status"),
    )
    # Twilio has not picked the sender yet: accepted, no from, num_segments "0".
    assert (message.status, message.from_, message.num_segments) == ("accepted", None, "0")
    assert message.messaging_service_sid == SERVICE
    await sandbox.settle()
    fetched = await api.fetch(message.sid)
    assert fetched.from_ in POOL[:2]
    assert (fetched.status, fetched.num_segments) == ("delivered", "1")
    hits = receiver.at("/status")
    assert [h.params["MessageStatus"] for h in hits] == ["queued", "sending", "sent", "delivered"]
    assert all(h.params["MessagingServiceSid"] == SERVICE for h in hits)
    assert all(h.params["From"] == fetched.from_ for h in hits)
    assert all(h.signed_with(AUTH_TOKEN) for h in hits)


async def test_a_messaging_service_uses_its_whatsapp_sender_for_whatsapp(
    aapi: Api, sandbox: Sandbox, http: aiohttp.ClientSession
) -> None:
    await phone_texts(http, WA_USER, POOL[2], "hi")
    message = await aapi.create(to=WA_USER, messaging_service_sid=SERVICE, body="hello")
    await sandbox.settle()
    fetched = await aapi.fetch(message.sid)
    assert (fetched.from_, fetched.status) == (POOL[2], "delivered")


async def test_a_messaging_service_sticks_to_the_number_a_user_texted(
    aapi: Api, sandbox: Sandbox, http: aiohttp.ClientSession, receiver: Receiver
) -> None:
    await phone_texts(http, USER, POOL[1], "hi second number")
    (hit,) = await receiver.wait_for("/service")  # the service's inbound webhook
    assert hit.params["MessagingServiceSid"] == SERVICE
    assert hit.signed_with(AUTH_TOKEN)
    message = await aapi.create(to=USER, messaging_service_sid=SERVICE, body="sticky")
    await sandbox.settle()
    assert (await aapi.fetch(message.sid)).from_ == POOL[1]
    fresh = await aapi.create(to=USER2, messaging_service_sid=SERVICE, body="new user")
    await sandbox.settle()
    assert (await aapi.fetch(fresh.sid)).from_ == POOL[0]


async def test_unknown_or_malformed_messaging_services_are_refused(
    make_sandbox: MakeSandbox,
) -> None:
    sms_only = MessagingService(sid="MG" + "6" * 32, numbers=[BOT])
    sandbox = await make_sandbox(services=[sms_only])
    api = make_client(sandbox, "sync")
    try:
        unknown = "MG" + "7" * 32
        await raises(21701, 400, api.create(to=USER, messaging_service_sid=unknown, body="x"))
        await raises(21705, 400, api.create(to=USER, messaging_service_sid="MG123", body="x"))
        no_whatsapp = {"messaging_service_sid": sms_only.sid, "body": "x"}
        await raises(21704, 400, api.create(to=WA_USER, **no_whatsapp))
        ok = await api.create(to=USER, messaging_service_sid=sms_only.sid, body="x")
        assert ok.status == "accepted"
    finally:
        await api.close()



@pytest.mark.parametrize(
    ("phone", "fields", "problem"),
    [
        ("whatsapp:" + USER, {"latitude": "north", "longitude": "1"}, "Invalid latitude"),
        ("whatsapp:" + USER, {"latitude": "10", "longitude": "181"}, "Invalid longitude"),
        (USER, {"latitude": "10", "longitude": "20"}, "Only a WhatsApp phone"),
    ],
)
async def test_a_shared_location_is_checked(
    sandbox: Sandbox, http: aiohttp.ClientSession, phone: str, fields: dict[str, str], problem: str
) -> None:
    async with http.post(
        f"/sandbox/phones/{quote(phone, safe='')}/messages", json={"to": BOT, **fields}
    ) as response:
        assert response.status == 400
        assert problem in (await response.json())["message"]
