"""An outbound worker wired to a real queue, ledger and window store, sending to an embedded
sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from redis.asyncio import Redis
from twilio.rest import Client

from botkit.compliance.ledger.protocol import ConsentLedger
from botkit.compliance.windows.protocol import WindowStore
from botkit.core.redis_client import RedisClient
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.outbox import QueueOutbox
from botkit.outbound.queue.protocol import OutboundQueue
from botkit.outbound.quiet_hours import QuietHours
from botkit.outbound.shaping import Shaper, WhatsAppTemplate
from botkit.outbound.worker import OutboundWorker, SendPolicy
from botkit.runtime.outbound import open_outbox
from botkit.runtime.redis import connect
from botkit.runtime.stores import build_stores
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.sandbox.rates import SendRecord
from botkit.settings import Settings
from botkit.twilio.client import create_async_client

PEPPER = "dispatch-test-pepper-0123"

#: Given the sandbox's URL, a URL in front of it (a context manager that runs it).
Hop = Callable[[str], AbstractAsyncContextManager[str]]


@dataclass
class SlowHop:
    """A network hop that holds every request ``delay`` seconds before passing it on to
    Twilio (the sandbox), as a far-away or busy Twilio does, and counts requests in flight."""

    delay: float
    most_in_flight: int = 0
    _in_flight: int = 0

    @asynccontextmanager
    async def __call__(self, target: str) -> AsyncIterator[str]:
        async with aiohttp.ClientSession() as session:

            async def forward(request: web.Request) -> web.Response:
                self._in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self._in_flight)
                try:
                    await asyncio.sleep(self.delay)
                    headers = {
                        k: v
                        for k, v in request.headers.items()
                        if k in ("Authorization", "Content-Type")
                    }
                    async with session.request(
                        request.method,
                        target + request.path_qs,
                        data=await request.read(),
                        headers=headers,
                    ) as answer:
                        return web.Response(
                            status=answer.status,
                            body=await answer.read(),
                            headers={"Content-Type": answer.headers["Content-Type"]},
                        )
                finally:
                    self._in_flight -= 1

            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", forward)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                await runner.cleanup()


@dataclass
class Rig:
    sandbox: Sandbox
    queue: OutboundQueue
    ledger: ConsentLedger
    windows: WindowStore
    outbox: QueueOutbox
    start_worker: Callable[[], OutboundWorker]
    client: Client
    outbound_workers: list[OutboundWorker] = field(default_factory=list)
    _keys: int = 0

    def add_worker(self) -> OutboundWorker:
        outbound_worker = self.start_worker()
        outbound_worker.start()
        self.outbound_workers.append(outbound_worker)
        return outbound_worker

    async def send(self, to: str, body: str = "hello", **fields: object) -> str:
        self._keys += 1
        values: dict[str, object] = {
            "to": to,
            "body": body,
            "idempotency_key": f"k{self._keys}-{time.perf_counter_ns()}",
        }
        values.update(fields)
        if "from_" not in values and "messaging_service_sid" not in values:
            values["from_"] = "+15550100001"
        handle = await self.outbox.submit(OutboundMessage(**values))  # type: ignore[arg-type]
        return handle.id

    def sends(self, sender: str | None = None) -> list[SendRecord]:
        records = self.sandbox.state.rates.records
        return [r for r in records if sender is None or r.sender == sender]

    async def until(self, done: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not done():
                await asyncio.sleep(0.01)

    async def drained(self, timeout: float = 15.0) -> None:
        async with asyncio.timeout(timeout):
            while await self.queue.pending():
                await asyncio.sleep(0.01)


@asynccontextmanager
async def dispatch_rig(
    store_url: str | None,
    *,
    sandbox_config: SandboxConfig | None = None,
    rates: RateTable | None = None,
    policy: SendPolicy | None = None,
    workers: int = 1,
    template: WhatsAppTemplate | None = None,
    quiet: QuietHours | None = None,
    through: Hop | None = None,
    redis_options: Mapping[str, Any] | None = None,
) -> AsyncIterator[Rig]:
    config = sandbox_config or SandboxConfig(status_step=0.002)
    sandbox = Sandbox(config)
    await sandbox.start()
    hops = AsyncExitStack()
    twilio_url = sandbox.url if through is None else await hops.enter_async_context(
        through(sandbox.url)
    )
    settings = Settings(
        consent_pepper=PEPPER, rates=rates or RateTable(), quiet_hours=quiet, redis_url=store_url
    )
    redis: RedisClient | None = None
    if store_url and redis_options:
        redis = Redis.from_url(store_url, **redis_options)  # a one-server test of client options
    elif store_url:
        redis = await connect(settings)
    outbound = build_stores(settings, "bot", redis)
    client = create_async_client(config.account_sid, config.auth_token, twilio_url)
    shaper = Shaper(outbound.windows, template, quiet)
    rig = Rig(
        sandbox,
        outbound.queue,
        outbound.ledger,
        outbound.windows,
        open_outbox(outbound, settings),
        start_worker=lambda: OutboundWorker(
            outbound.queue, client, outbound.ledger, policy or SendPolicy(), shape=shaper
        ),
        client=client,
    )
    for _ in range(workers):
        rig.add_worker()
    if workers:
        rig.outbox = open_outbox(outbound, settings, rig.outbound_workers[0].wake)
    try:
        yield rig
    finally:
        for outbound_worker in rig.outbound_workers:
            await outbound_worker.stop(grace=1)
        await client.http_client.close()
        await hops.aclose()
        await sandbox.stop()
        if redis is not None:
            await redis.aclose()
