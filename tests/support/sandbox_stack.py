"""A sandbox and a real botkit app wired to each other, as `botkit run` wires them without an
account: the bot's replies reach the sandbox through the twilio SDK, and the sandbox posts signed
webhooks to the bot for the number it owns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestServer
from twilio.rest import Client

from botkit import Bot, Settings, create_app
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.twilio.client import create_async_client

BOT_NUMBER = "+15550002222"


@dataclass
class Stack:
    sandbox: Sandbox
    bot_server: TestServer
    #: An SDK client pointed at the sandbox, for the test's own Twilio calls.
    twilio: Client

    @property
    def url(self) -> str:
        return self.sandbox.url


@asynccontextmanager
async def sandbox_with_bot(bot: Bot, **config: Any) -> AsyncIterator[Stack]:
    sandbox = Sandbox(SandboxConfig(**config))
    await sandbox.start()
    settings = Settings(
        twilio_account_sid=sandbox.config.account_sid,
        twilio_auth_token=sandbox.config.auth_token,
        twilio_base_url=sandbox.url,
        redis_url=None,
        log_format="json",
    )
    server = TestServer(create_app(bot, settings), host="127.0.0.1")
    await server.start_server()
    sandbox.own_number(BOT_NUMBER, str(server.make_url("/twilio/messages")))
    try:
        async with sdk_client(sandbox) as twilio:
            yield Stack(sandbox, server, twilio)
    finally:
        await server.close()
        await sandbox.stop()


@asynccontextmanager
async def sdk_client(sandbox: Sandbox, auth_token: str | None = None) -> AsyncIterator[Client]:
    """The twilio SDK's async client pointed at sandbox, with its credentials unless told."""
    twilio = create_async_client(
        sandbox.config.account_sid, auth_token or sandbox.config.auth_token, sandbox.url
    )
    try:
        yield twilio
    finally:
        await twilio.http_client.close()
