"""Fixtures for flow tests: a chat with a bot started on the memory and the Redis stores."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from botkit import Bot
from tests.conftest import StartServer
from tests.flows.chat import Chat
from tests.support.sandbox_twilio import SandboxTwilio

OpenChat = Callable[..., Awaitable[Chat]]


@pytest.fixture
def open_chat(start_server: StartServer, twilio: SandboxTwilio, store_url: str | None) -> OpenChat:
    """open_chat(bot, **settings) -> Chat with that bot, on each store in turn."""

    async def open_(bot: Bot, **overrides: Any) -> Chat:
        server = await start_server(bot, redis_url=store_url, **overrides)
        return Chat(server, twilio)

    return open_
