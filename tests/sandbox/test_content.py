"""The sandbox's Content API and messages sent with ContentSid, through the official twilio SDK."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from botkit import Bot, Context
from botkit.sandbox import Sandbox
from tests.support.sandbox_stack import BOT_NUMBER, sandbox_with_bot, sdk_client

USER = "whatsapp:+15550001111"
BOT = f"whatsapp:{BOT_NUMBER}"

QUICK_REPLY: dict[str, Any] = {
    "friendly_name": "menu",
    "language": "en",
    "variables": {"1": "there"},
    "types": {
        "twilio/quick-reply": {
            "body": "Hi {{1}}, what next?",
            "actions": [
                {"title": "Track order", "id": "track"},
                {"title": "Talk to {{2}}", "id": "agent-{{2}}"},
            ],
        },
        "twilio/text": {"body": "Hi {{1}}, reply TRACK or AGENT."},
    },
}


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox()
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def create_template(client: Client, body: dict[str, Any]) -> Any:
    return await client.content.v1.contents.create_async(ContentList.ContentCreateRequest(body))


async def transcript(sandbox: Sandbox, address: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.url}/sandbox/phones/{address}/messages") as response,
    ):
        data: dict[str, Any] = await response.json()
    return list(data["messages"])


async def test_create_fetch_list_delete(client: Client, sandbox: Sandbox) -> None:
    created = await create_template(client, QUICK_REPLY)
    assert created.sid.startswith("HX") and len(created.sid) == 34
    assert created.account_sid == sandbox.config.account_sid
    assert created.friendly_name == "menu"
    assert created.language == "en"
    assert created.variables == {"1": "there"}
    assert created.types["twilio/quick-reply"]["actions"][0] == {
        "title": "Track order",
        "id": "track",
    }
    assert "twilio/media" not in created.types  # the SDK's nulls are not types
    assert created.url.endswith(f"/v1/Content/{created.sid}")
    assert created.date_created is not None
    assert set(created.links) == {"approval_create", "approval_fetch"}

    fetched = await client.content.v1.contents(created.sid).fetch_async()
    assert fetched.types == created.types

    second = await create_template(
        client, {"language": "en", "types": {"twilio/text": {"body": "x"}}}
    )
    listed = await client.content.v1.contents.list_async(page_size=1)
    assert [t.sid for t in listed] == [second.sid, created.sid]

    assert await client.content.v1.contents(created.sid).delete_async()
    with pytest.raises(TwilioRestException) as missing:
        await client.content.v1.contents(created.sid).fetch_async()
    assert (missing.value.status, missing.value.code) == (404, 20404)


async def test_content_needs_auth(sandbox: Sandbox) -> None:
    async with sdk_client(sandbox, auth_token="wrong-token") as intruder:
        with pytest.raises(TwilioRestException) as refused:
            await create_template(intruder, QUICK_REPLY)
    assert (refused.value.status, refused.value.code) == (401, 20003)


@pytest.mark.parametrize(
    "body",
    [
        {"types": {"twilio/text": {"body": "no language"}}},
        {"language": "en", "types": {}},
        {"language": "en", "types": {"twilio/quick-reply": {"body": "no buttons", "actions": []}}},
        {
            "language": "en",
            "types": {"twilio/quick-reply": {"body": "b", "actions": [{"id": "x"}]}},
        },
    ],
)
async def test_invalid_templates_are_refused(client: Client, body: dict[str, Any]) -> None:
    with pytest.raises(TwilioRestException) as refused:
        await create_template(client, body)
    assert refused.value.status == 400


async def test_whatsapp_message_renders_template_with_buttons(
    client: Client, sandbox: Sandbox
) -> None:
    template = await create_template(client, QUICK_REPLY)
    message = await client.messages.create_async(
        to=USER,
        from_=BOT,
        content_sid=template.sid,
        content_variables=json.dumps({"2": "Sam"}),
    )
    assert message.body == "Hi there, what next?"  # default for 1, given value for 2

    [shown] = await transcript(sandbox, USER)
    assert shown["sid"] == message.sid
    assert shown["actions"] == [
        {"title": "Track order", "id": "track", "type": "QUICK_REPLY"},
        {"title": "Talk to Sam", "id": "agent-Sam", "type": "QUICK_REPLY"},
    ]
    assert shown["content_sid"] == template.sid


async def test_rest_json_stays_twilio_shaped(client: Client, sandbox: Sandbox) -> None:
    template = await create_template(client, QUICK_REPLY)
    created = await client.messages.create_async(to=USER, from_=BOT, content_sid=template.sid)
    auth = aiohttp.BasicAuth(sandbox.config.account_sid, sandbox.config.auth_token)
    async with (
        aiohttp.ClientSession(auth=auth) as session,
        session.get(f"{sandbox.url}{created.uri}") as response,
    ):
        raw = await response.json()
    assert "actions" not in raw and "media" not in raw and "content_sid" not in raw


async def test_sms_gets_the_text_form_without_buttons(client: Client, sandbox: Sandbox) -> None:
    template = await create_template(client, QUICK_REPLY)
    message = await client.messages.create_async(
        to="+15550001111", from_=BOT_NUMBER, content_sid=template.sid
    )
    assert message.body == "Hi there, reply TRACK or AGENT."
    [shown] = await transcript(sandbox, "+15550001111")
    assert shown["actions"] == []


async def test_media_template_sends_media(client: Client, sandbox: Sandbox) -> None:
    template = await create_template(
        client,
        {
            "language": "en",
            "types": {
                "twilio/media": {"body": "Your {{1}}", "media": ["https://x.test/{{1}}.png"]}
            },
        },
    )
    message = await client.messages.create_async(
        to=USER, from_=BOT, content_sid=template.sid, content_variables='{"1": "receipt"}'
    )
    assert message.sid.startswith("MM")
    assert (message.body, message.num_media) == ("Your receipt", "1")
    [shown] = await transcript(sandbox, USER)
    assert shown["media"] == [{"url": "https://x.test/receipt.png", "content_type": "image/png"}]


async def test_unknown_content_sid_and_bad_variables(client: Client) -> None:
    with pytest.raises(TwilioRestException) as unknown:
        await client.messages.create_async(to=USER, from_=BOT, content_sid="HX" + "0" * 32)
    assert unknown.value.code == 21655
    template = await create_template(client, QUICK_REPLY)
    with pytest.raises(TwilioRestException) as bad:
        await client.messages.create_async(
            to=USER, from_=BOT, content_sid=template.sid, content_variables="not json"
        )
    assert bad.value.code == 21656


async def test_event_stream_carries_buttons(client: Client, sandbox: Sandbox) -> None:
    template = await create_template(client, QUICK_REPLY)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{sandbox.url}/sandbox/events") as stream,
    ):
        await stream.content.readline()  # ": connected"
        await client.messages.create_async(to=USER, from_=BOT, content_sid=template.sid)
        async with asyncio.timeout(5):
            while True:
                line = (await stream.content.readline()).decode()
                if line.startswith("data:") and '"actions"' in line:
                    event = json.loads(line.removeprefix("data:"))
                    if event.get("direction") == "outbound-api":
                        break
    assert [a["id"] for a in event["actions"]] == ["track", "agent-{{2}}"]


async def test_tapping_a_button_reaches_the_bot() -> None:
    bot = Bot("buttons")
    taps: list[tuple[str | None, str | None, str]] = []

    @bot.fallback
    async def record(ctx: Context) -> None:
        info = ctx.message.whatsapp
        assert info is not None
        taps.append((info.button_text, info.button_payload, ctx.message.body))

    async with sandbox_with_bot(bot) as stack, aiohttp.ClientSession() as session:
        response = await session.post(
            f"{stack.url}/sandbox/phones/{USER}/messages",
            json={
                "to": BOT_NUMBER,
                "body": "Track order",
                "button_text": "Track order",
                "button_payload": "track",
            },
        )
        assert response.status == 201
        async with asyncio.timeout(5):
            while not taps:
                await asyncio.sleep(0.01)
    assert taps == [("Track order", "track", "Track order")]
