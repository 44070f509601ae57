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
from tests.support.redis_cluster import Topology, running_cluster
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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``store_url`` runs a test on the memory stores and on Redis, and a test marked
    ``cluster`` also on a 3-master Redis Cluster (the promises that must hold there)."""
    if "store_url" in metafunc.fixturenames:
        kinds = ["memory", "redis"]
        if metafunc.definition.get_closest_marker("cluster") is not None:
            kinds.append("cluster")
        metafunc.parametrize("store_url", kinds, indirect=True)


#: On a cluster, tests run as a cluster deployment would: with the queues and sessions spread
#: over shards, one per master (BOTKIT_SHARDS, read by every Settings the test makes).
CLUSTER_SHARDS = 3


@pytest.fixture
def store_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """The memory stores (None), or the URL of a clean Redis or Redis Cluster."""
    if request.param == "memory":
        return None
    if request.param == "cluster":
        monkeypatch.setenv("BOTKIT_SHARDS", str(CLUSTER_SHARDS))
        return str(request.getfixturevalue("clean_cluster"))
    return str(request.getfixturevalue("clean_redis"))


def clean_redis_of(kind: str, request: pytest.FixtureRequest) -> str:
    """A clean one-server Redis (``redis``) or Redis Cluster (``cluster``), for a test
    parametrized over both."""
    return str(request.getfixturevalue("clean_cluster" if kind == "cluster" else "clean_redis"))


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Topology]:
    """A Redis Cluster of 3 masters with a replica each, started once for the session."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def clean_cluster(redis_cluster: Topology) -> str:
    """The cluster's URL, every master flushed (their replicas follow)."""
    for port in redis_cluster.servers:
        if "role:master" in redis_cluster.cli(port, "info", "replication"):
            redis_cluster.cli(port, "flushall")
    return redis_cluster.url


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
        port = free_port()
        if public:
            overrides["public_url"] = f"http://127.0.0.1:{port}"
        # With an account, signatures are checked over a configured origin, never one the
        # request names (botkit/server/app.py): by default, this server's own.
        overrides.setdefault("public_hosts", f"http://127.0.0.1:{port}")
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
