"""Shared fixtures: a real redis-server, a local Twilio stand-in, a bot server factory and the
JSON log lines a test caused."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import redis
import structlog
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from botkit import RUNTIME, Bot, Runtime, Settings, create_app
from botkit.logging import configure_logging
from botkit.outbound.limits.rates import RateTable
from botkit.runtime.stores import Stores, open_stores
from tests.support.logs import JsonLogs
from tests.support.redis_server import free_port, running_redis
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import post_signed

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with running_redis() as url:
        yield url


@pytest.fixture
def clean_redis(redis_url: str) -> str:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    return redis_url


@pytest.fixture(params=["memory", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Run the test once with the memory stores (None) and once with Redis (its URL)."""
    if request.param == "memory":
        return None
    return str(request.getfixturevalue("clean_redis"))


@pytest.fixture
async def stores(store_url: str | None) -> AsyncIterator[Stores]:
    """Every store of one kind, built as the runtime builds them (botkit/runtime/stores.py):
    the contract tests of each twin take theirs from here, once per backend."""
    settings = Settings(consent_pepper="contract-test-pepper-0123", redis_url=store_url)
    built = await open_stores(settings, "contract")
    yield built
    await built.close()


@pytest.fixture
async def twilio() -> AsyncIterator[SandboxTwilio]:
    fake = SandboxTwilio(ACCOUNT_SID, AUTH_TOKEN)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def logs(capsys: pytest.CaptureFixture[str]) -> Iterator[JsonLogs]:
    """botkit logging JSON to the captured stdout, read back with take()."""
    saved = structlog.get_config()
    configure_logging("json")
    # configure_logging binds sys.stdout as it is now; pytest swaps capsys's stream between
    # set-up and the test itself, so look sys.stdout up each time a logger is made.
    structlog.configure(logger_factory=lambda *_: structlog.PrintLogger(sys.stdout))
    yield JsonLogs(capsys)
    structlog.configure(**saved)


@dataclass
class BotServer:
    """A running bot app and a client for it."""

    client: TestClient  # type: ignore[type-arg]
    settings: Settings

    @property
    def runtime(self) -> Runtime:
        return self.client.app[RUNTIME]  # type: ignore[index]

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def post(self, params: Mapping[str, str], **kwargs: Any) -> ClientResponse:
        return await post_signed(self.client, params, token=AUTH_TOKEN, **kwargs)

    async def idle(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            await self.runtime.idle()

    async def stop(self) -> None:
        await self.client.close()


StartServer = Callable[..., Awaitable[BotServer]]


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "redis_url": None,
        "log_format": "json",
        "consent_pepper": "test-pepper-0123456789",
        # Tests exchange many messages with one number: do not hold them to 1 segment a second.
        "rates": RateTable(
            long_code=1000, toll_free=1000, short_code=1000, messaging_service=1000, whatsapp=1000
        ),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def start_server(twilio: SandboxTwilio) -> AsyncIterator[StartServer]:
    """start_server(bot, workers=True, **settings) -> BotServer; replies go to the fake Twilio."""
    servers: list[BotServer] = []

    async def start(
        bot: Bot, *, workers: bool = True, public: bool = False, **overrides: Any
    ) -> BotServer:
        """public=True: the server's own URL is BOTKIT_PUBLIC_URL, so Twilio (the sandbox)
        posts status callbacks back to it."""
        overrides.setdefault("twilio_base_url", twilio.base_url)
        port = free_port() if public else None
        if port is not None:
            overrides["public_url"] = f"http://127.0.0.1:{port}"
        settings = make_settings(**overrides)
        app = create_app(bot, settings, workers=workers)
        client = TestClient(TestServer(app, host="127.0.0.1", port=port))
        await client.start_server()
        server = BotServer(client, settings)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.stop()
