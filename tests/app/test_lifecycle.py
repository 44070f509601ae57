"""Startup and shutdown hooks: run with the server's settings and a Twilio client, in order;
a failing startup stops the server with its error, a failing shutdown hook does not stop the
others."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from botkit import Bot, ConfigError, Startup, create_app
from tests.conftest import StartServer, make_settings
from tests.support.sandbox_twilio import SandboxTwilio


async def test_hooks_run_around_the_server(start_server: StartServer) -> None:
    bot = Bot()
    seen: list[str] = []

    @bot.on_startup
    async def first(startup: Startup) -> None:
        # The client reaches the same Twilio as the bot: here, the sandbox's Content API.
        listed = await startup.twilio.content.v1.contents.list_async()
        seen.append(f"first:{startup.settings.redis_url}:{len(listed)}")

    @bot.on_startup
    async def second(startup: Startup) -> None:
        seen.append("second")

    @bot.on_shutdown
    async def close_a() -> None:
        seen.append("close a")

    @bot.on_shutdown
    async def broken() -> None:
        raise RuntimeError("boom")

    @bot.on_shutdown
    async def close_b() -> None:
        seen.append("close b")

    server = await start_server(bot)
    assert seen == ["first:None:0", "second"]
    await server.stop()
    assert seen == ["first:None:0", "second", "close b", "close a"]


async def test_a_failing_startup_hook_stops_the_server(twilio: SandboxTwilio) -> None:
    bot = Bot()
    closed: list[str] = []

    @bot.on_startup
    async def refuse(startup: Startup) -> None:
        raise ConfigError("TICKETS_PATH: no such directory")

    @bot.on_shutdown
    async def close() -> None:
        closed.append("closed")

    settings = make_settings(twilio_base_url=twilio.base_url, public_url="http://127.0.0.1")
    app = create_app(bot, settings)
    client = TestClient(TestServer(app))
    with pytest.raises(ConfigError, match="TICKETS_PATH: no such directory"):
        await client.start_server()
    await client.close()
    assert closed == ["closed"]  # what earlier hooks opened is closed again


def test_hooks_must_be_async() -> None:
    bot = Bot()

    def sync_hook(startup: Startup) -> None: ...

    with pytest.raises(TypeError, match=r"startup hook .*sync_hook.* must be async"):
        bot.on_startup(sync_hook)  # type: ignore[type-var]
    with pytest.raises(TypeError, match="shutdown hook"):
        bot.on_shutdown(lambda: None)  # type: ignore[type-var]
