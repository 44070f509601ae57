"""A bot server that the sandbox calls back (1:1 messages and conversation events), and the
SDK an agent's chat client would use: the stage of the handoff and agent desk tests."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from twilio.base.exceptions import TwilioRestException

from botkit import Bot
from botkit.handoff.service import Handoff
from botkit.twilio.client import create_async_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, BotServer, StartServer
from tests.support.sandbox_twilio import SandboxTwilio

BOT = "+15550002222"
EVENTS = ["onMessageAdd", "onMessageAdded", "onParticipantAdded", "onParticipantRemoved"]


@dataclass
class HandoffStack:
    """A bot server the sandbox calls back (1:1 messages and conversation events), and the SDK
    an agent's chat client would use."""

    server: BotServer
    twilio: SandboxTwilio
    sdk: Any

    @property
    def handoff(self) -> Handoff:
        return self.server.runtime.conversations.handoff

    async def text(self, phone: str, body: str) -> None:
        status, _ = await self._http("POST", f"/sandbox/phones/{phone}/messages", to=BOT, body=body)
        assert status == 201
        await self.settle()

    async def write(self, conversation: str, author: str, body: str) -> bool:
        """A chat agent writes, as their chat client would; False when the bot's pre-event
        answer kept the message out of the conversation (an agent command it ran)."""
        try:
            await self.sdk.conversations.v1.conversations(conversation).messages.create_async(
                author=author, body=body, x_twilio_webhook_enabled="true"
            )
        except TwilioRestException as exc:
            if "pre-event webhook rejected" not in str(exc.msg):
                raise
            return False
        finally:
            await self.settle()
        return True

    async def settle(self) -> None:
        for _ in range(3):
            await self.twilio.sandbox.settle()
            await self.server.idle()

    async def received(self, phone: str) -> list[str]:
        _, data = await self._http("GET", f"/sandbox/phones/{phone}/messages")
        return [m["body"] for m in data["messages"] if m["direction"] != "inbound"]

    async def transcript(self, conversation: str) -> list[tuple[str, str]]:
        listed = await self.sdk.conversations.v1.conversations(conversation).messages.list_async()
        return [(m.author, m.body) for m in listed]

    async def conversation(self, conversation: str) -> Any:
        return await self.sdk.conversations.v1.conversations(conversation).fetch_async()

    async def _http(self, method: str, path: str, **data: str) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession(auth=aiohttp.BasicAuth(ACCOUNT_SID, AUTH_TOKEN)) as session,
            session.request(method, self.twilio.base_url + path, data=data or None) as response,
        ):
            text = await response.text()
            return response.status, json.loads(text) if text else None


MakeStack = Callable[..., Awaitable[HandoffStack]]


async def load(d: HandoffStack, agent: str) -> int:
    return len(await d.handoff.store.holding(agent))


async def waiting(d: HandoffStack, skill: str = "general") -> list[str]:
    return [r.conversation_sid for r in await d.handoff.store.waiting(skill)]


@pytest.fixture
async def handoff_stack(
    start_server: StartServer, twilio: SandboxTwilio
) -> AsyncIterator[MakeStack]:
    clients: list[Any] = []

    async def make(bot: Bot, store_url: str | None = None, **settings: Any) -> HandoffStack:
        server = await start_server(bot, public=True, redis_url=store_url, **settings)
        twilio.sandbox.own_number(BOT, server.url("/twilio/messages"))
        sdk = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
        clients.append(sdk)
        url = f"{server.settings.public_url}/twilio/conversations"
        await sdk.conversations.v1.configuration.webhooks().update_async(
            pre_webhook_url=url, post_webhook_url=url, method="POST", filters=EVENTS
        )
        return HandoffStack(server, twilio, sdk)

    yield make
    for sdk in clients:
        await sdk.http_client.close()
