"""What every resource's links advertise is served (a message's Media, a conversation message's
delivery Receipts), an unknown route answers Twilio's JSON error, and `botkit sandbox` defines
Messaging Services with sender pools from the command line."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.twilio.client import create_async_client
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN
from tests.support.process import BOTKIT, botkit_process, clean_env
from tests.support.redis_server import free_port

BOT = "+15550002222"
USER = "+15550001111"
SERVICE = "MG" + "7" * 32
POOL = ["+15550006001", "+15550006002"]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(SandboxConfig(status_step=0.001))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def test_a_messages_media_is_listed_fetched_and_deleted(client: Client) -> None:
    twilio = client
    message = await twilio.messages.create_async(
        to=USER,
        from_=BOT,
        body="two files",
        media_url=["https://example.com/a.png", "https://example.com/b.pdf"],
    )
    media = await twilio.messages(message.sid).media.list_async()
    assert [m.content_type for m in media] == ["image/png", "application/pdf"]
    assert all(m.parent_sid == message.sid and m.sid.startswith("ME") for m in media)
    fetched = await twilio.messages(message.sid).media(media[1].sid).fetch_async()
    assert fetched.content_type == "application/pdf"
    assert await twilio.messages(message.sid).media(media[0].sid).delete_async()
    left = await twilio.messages(message.sid).media.list_async()
    assert [m.sid for m in left] == [media[1].sid]
    with pytest.raises(TwilioRestException) as missing:
        await twilio.messages(message.sid).media(media[0].sid).fetch_async()
    assert (missing.value.status, missing.value.code) == (404, 20404)


async def test_a_conversation_messages_delivery_receipts(sandbox: Sandbox, client: Client) -> None:
    twilio = client
    conversation = await twilio.conversations.v1.conversations.create_async(friendly_name="r")
    chat = twilio.conversations.v1.conversations(conversation.sid)
    phone = await chat.participants.create_async(
        messaging_binding_address=USER, messaging_binding_proxy_address=BOT
    )
    posted = await chat.messages.create_async(author="agent", body="hello")
    await sandbox.settle()
    receipts = await chat.messages(posted.sid).delivery_receipts.list_async()
    assert len(receipts) == 1
    (receipt,) = receipts
    assert (receipt.message_sid, receipt.participant_sid) == (posted.sid, phone.sid)
    assert receipt.status == "delivered" and receipt.channel_message_sid.startswith("SM")
    fetched = await chat.messages(posted.sid).delivery_receipts(receipt.sid).fetch_async()
    assert fetched.channel_message_sid == receipt.channel_message_sid


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/2010-04-01/Accounts/AC00000000000000000000000000000000/Calls.json", 404, 20404),
        ("GET", "/v1/Services", 404, 20404),
        ("GET", "/nothing/here", 404, 20404),
        ("PUT", "/v1/Conversations", 405, 20004),
    ],
)
async def test_an_unknown_route_answers_twilios_json_error(
    sandbox: Sandbox, method: str, path: str, status: int, code: int
) -> None:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, sandbox.url + path) as response,
    ):
        assert response.status == status
        assert response.content_type == "application/json"
        document = await response.json()
    assert document["code"] == code and document["status"] == status
    assert document["more_info"] == f"https://www.twilio.com/docs/errors/{code}"
    assert document["message"]


async def test_botkit_sandbox_defines_messaging_services_from_the_command_line() -> None:
    port = free_port()
    args = ["sandbox", "--port", str(port), "--messaging-service", f"{SERVICE}={','.join(POOL)}"]
    with botkit_process(args, clean_env()) as proc:
        url = f"http://127.0.0.1:{port}"
        await _wait_up(url, proc)
        twilio = create_async_client(DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN, url)
        try:
            sent = await twilio.messages.create_async(
                to=USER, messaging_service_sid=SERVICE, body="from the pool"
            )
            assert sent.status == "accepted"
            for _ in range(200):
                sent = await twilio.messages(sent.sid).fetch_async()
                if sent.from_ is not None:
                    break
                await asyncio.sleep(0.01)
            assert sent.from_ in POOL
            later = datetime.now(UTC) + timedelta(hours=1)
            scheduled = await twilio.messages.create_async(
                to=USER,
                messaging_service_sid=SERVICE,
                body="later",
                schedule_type="fixed",
                send_at=later,
            )
            assert scheduled.status == "scheduled"
        finally:
            await twilio.http_client.close()


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("MG123=+15550006001", "'MG123' is not a service SID"),
        (f"{SERVICE}=", f"{SERVICE} has no sender numbers"),
        (f"{SERVICE}=+1555,nope", "'+1555'"),
    ],
)
def test_a_bad_messaging_service_is_one_line(spec: str, problem: str) -> None:
    done = subprocess.run(
        [BOTKIT, "sandbox", "--port", "0", "--messaging-service", spec],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("botkit: --messaging-service: ") and problem in line


async def _wait_up(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 15
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None
            try:
                async with http.get(f"{url}/sandbox/numbers") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise AssertionError("botkit sandbox did not start")
