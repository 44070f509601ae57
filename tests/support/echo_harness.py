"""A bot that records what it handles and echoes it, for proving a rejected webhook ran nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse

from botkit import Bot, Context, InboundMessage
from tests.conftest import BotServer
from tests.support.logs import JsonLogs
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import USER, inbound_params

PATH = "/twilio/messages"


def echo_bot(name: str) -> tuple[Bot, list[InboundMessage]]:
    """A bot that replies "echo: <body>" to everything, and the list of messages it handled."""
    bot = Bot(name)
    seen: list[InboundMessage] = []

    @bot.fallback
    async def record(ctx: Context) -> None:
        seen.append(ctx.message)
        await ctx.reply(f"echo: {ctx.message.body}")

    return bot, seen


@dataclass
class EchoHarness:
    """An echo_bot running on server, replying through fake."""

    server: BotServer
    fake: SandboxTwilio
    logs: JsonLogs
    seen: list[InboundMessage]

    async def post(
        self,
        params: Mapping[str, str],
        *,
        signed_url: str | None = None,
        path: str = PATH,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """POST params signed correctly over signed_url (default: the URL actually called)."""
        return await self.server.post(params, path=path, signed_url=signed_url, headers=headers)

    async def expect_rejected(
        self, response: ClientResponse, status: int, reason: str
    ) -> dict[str, Any]:
        """status with the one-line reason as the body, and exactly one log line saying so."""
        text = await response.text()
        assert response.status == status, text
        assert text == reason + "\n"
        assert "\n" not in reason
        return self.logs.take_rejection(status=status, reason=reason, path=PATH)

    async def prove_nothing_ran(
        self, *, signed_url: str | None = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send one valid message: it must be the only one handled and the only reply."""
        params = inbound_params("valid")
        response = await self.post(params, signed_url=signed_url, headers=headers)
        assert response.status == 200, await response.text()
        await self.server.idle()
        assert [m.sid for m in self.seen] == [params["MessageSid"]]
        await self.fake.wait_for(1)
        await asyncio.sleep(0.05)  # room for a stray second reply to show up
        assert [(m.to, m.body) for m in self.fake.sent] == [(USER, "echo: valid")]
