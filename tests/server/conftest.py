"""``run_server``: a bot app served as ``botkit run`` serves it, for what depends on how.

aiohttp's TestServer cancels a handler whose client left (handler_cancellation) and serves
without botkit's ConnectionGuard; ``botkit run`` does neither (cli/main.py, cli/serving.py).
Tests of client disconnects and slow connections use this instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from botkit import RUNTIME, Bot, Runtime, create_app
from botkit.server.connections import GUARD, ConnectionGuard, GuardedRunner
from tests.conftest import AUTH_TOKEN, make_settings
from tests.support.redis_server import free_port
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import sign


@dataclass
class RunServer:
    runner: web.AppRunner
    port: int
    http: aiohttp.ClientSession

    @property
    def runtime(self) -> Runtime:
        return self.runner.app[RUNTIME]

    @property
    def guard(self) -> ConnectionGuard:
        return self.runner.app[GUARD]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def post(
        self, params: Mapping[str, str], path: str = "/twilio/messages"
    ) -> tuple[int, str]:
        headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, self.url(path), params)}
        async with self.http.post(self.url(path), data=dict(params), headers=headers) as answer:
            return answer.status, await answer.text()

    async def metric(self, line_start: str) -> str | None:
        """The line of /metrics that starts with line_start, if any."""
        async with self.http.get(self.url("/metrics")) as answer:
            text = await answer.text()
        return next((line for line in text.splitlines() if line.startswith(line_start)), None)


StartRunServer = Callable[..., Awaitable[RunServer]]


@pytest.fixture
async def run_server(twilio: SandboxTwilio) -> AsyncIterator[StartRunServer]:
    started: list[RunServer] = []

    async def start(bot: Bot, *, workers: bool = False, **overrides: Any) -> RunServer:
        port = free_port()
        overrides.setdefault("public_hosts", f"http://127.0.0.1:{port}")
        settings = make_settings(twilio_base_url=twilio.base_url, **overrides)
        runner = GuardedRunner(create_app(bot, settings, workers=workers), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        server = RunServer(runner, port, aiohttp.ClientSession())
        started.append(server)
        return server

    yield start
    for server in started:
        await server.http.close()
        await server.runner.cleanup()
