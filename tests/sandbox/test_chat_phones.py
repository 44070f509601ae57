"""Chat identities the simulator plays (an agent's chat client): created like phones, their
thread is the conversations they are in, and what they send is posted as them, webhooks and
all, and reaches the phones of the conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from twilio.rest import Client

from botkit.sandbox import Sandbox, SandboxConfig
from tests.support.sandbox_stack import sdk_client

BOT = "+15550002222"
USER = "+15550001111"


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(SandboxConfig(status_step=0.001))
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


async def call(sandbox: Sandbox, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, sandbox.url + path, json=body) as response,
    ):
        return response.status, await response.json()


async def handed_over(twilio: Client) -> str:
    """A conversation with the customer's phone and the agent in it, as a handoff makes."""
    conversation = await twilio.conversations.v1.conversations.create_async(
        friendly_name="Handoff"
    )
    chat = twilio.conversations.v1.conversations(conversation.sid)
    await chat.participants.create_async(
        messaging_binding_address=USER, messaging_binding_proxy_address=BOT
    )
    await chat.participants.create_async(identity="agent")
    await chat.messages.create_async(author="bot", body="You are now chatting with agent")
    return str(conversation.sid)


async def test_an_agent_reads_and_writes_its_conversations(sandbox: Sandbox) -> None:
    async with sdk_client(sandbox) as twilio:
        status, phone = await call(sandbox, "POST", "/sandbox/phones", {"identity": "agent"})
        assert (status, phone["channel"]) == (201, "chat")
        conversation = await handed_over(twilio)
        status, sent = await call(
            sandbox,
            "POST",
            "/sandbox/phones/agent/messages",
            {"to": conversation, "body": "Hi, Sam here"},
        )
        assert status == 201 and sent["from"] == "agent"
        await sandbox.settle()
        _, thread = await call(sandbox, "GET", "/sandbox/phones/agent/messages")
        assert [(m["author"], m["body"]) for m in thread["messages"]] == [
            ("bot", "You are now chatting with agent"),
            ("agent", "Hi, Sam here"),
        ]
        assert {m["conversation_name"] for m in thread["messages"]} == {"Handoff"}
        _, texts = await call(sandbox, "GET", f"/sandbox/phones/{USER}/messages")
        assert [m["body"] for m in texts["messages"]][-1] == "Hi, Sam here"


async def test_an_identity_added_to_a_conversation_appears_as_a_phone(sandbox: Sandbox) -> None:
    async with sdk_client(sandbox) as twilio:
        await handed_over(twilio)
    _, phones = await call(sandbox, "GET", "/sandbox/phones")
    assert {"address": "agent", "channel": "chat", "name": None} in phones["phones"]


@pytest.mark.parametrize(
    ("body", "code"),
    [({"to": "CH" + "0" * 32, "body": "hi"}, 20404), ({"to": "", "body": ""}, 21602)],
)
async def test_writing_nowhere_is_a_clear_error(
    sandbox: Sandbox, body: dict[str, str], code: int
) -> None:
    status, error = await call(sandbox, "POST", "/sandbox/phones/agent/messages", body)
    assert 400 <= status < 500 and error["code"] == code


async def test_an_agent_cannot_write_into_someone_elses_conversation(sandbox: Sandbox) -> None:
    async with sdk_client(sandbox) as twilio:
        conversation = await handed_over(twilio)
    status, error = await call(
        sandbox, "POST", "/sandbox/phones/intruder/messages", {"to": conversation, "body": "x"}
    )
    assert (status, error["code"]) == (400, 50400)


async def test_an_identity_must_look_like_one(sandbox: Sandbox) -> None:
    status, error = await call(sandbox, "POST", "/sandbox/phones", {"identity": "+15550001111"})
    assert (status, error["code"]) == (400, 20001)
