"""Where bench/inbound.py's measures run: one Redis for the whole run, and each system started
fresh on a port of its own, warmed up and checked before anything is measured.

A webhook is signed for the exact URL it is sent to, so each system gets its own WebhookMaker.
Warming up sends one webhook from each of the 500 users (so every session exists, as it does for
almost every message of a bot in service) and checks that every answer is a 200 with the empty
TwiML: a benchmark that gets 403s measures nothing, so anything else stops the run there.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis

from bench._http import Answer, send_all
from bench._systems import (
    PEPPER,
    Server,
    bare_aiohttp,
    botkit_run,
    floor,
    quickstart,
    sandbox,
)
from bench._webhooks import WebhookMaker
from botkit.runtime.stores import Stores, build_stores
from botkit.settings import Settings
from tests.support.redis_server import free_port

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response />'
WARM_CONCURRENCY = 16


class Failure(Exception):
    """The run cannot measure what it set out to: said in one message, and the run stops."""


def check_answers(label: str, answers: list[Answer], sent: int) -> None:
    bad = [a for a in answers if a.status != 200 or a.body != EMPTY_TWIML]
    if bad or len(answers) != sent:
        first = f"{bad[0].status} {bad[0].body[:300]!r}" if bad else "(none)"
        raise Failure(
            f"{label}: {len(bad) + sent - len(answers)} of {sent} webhooks were not answered 200 "
            f"with the empty TwiML; the first: {first}"
        )


@dataclass
class Running:
    """A started system, and what measures need to reach it."""

    server: Server
    maker: WebhookMaker
    stores: Stores | None = None  # botkit's queues, read directly (not through any proxy)
    redis: Redis | None = None
    sandbox_pid: int | None = None

    @property
    def port(self) -> int:
        return self.server.port

    async def send(self, requests: list[bytes], concurrency: int = WARM_CONCURRENCY) -> None:
        """Send requests a few at a time, and stop the run unless every one was accepted."""
        answers = await send_all("127.0.0.1", self.port, requests, concurrency)
        check_answers(self.server.label, answers, len(requests))

    async def warm_up(self) -> None:
        await self.server.wait_listening()
        await self.send(self.maker.one_per_user())
        await self.settle()

    async def settle(self) -> None:
        """Until every accepted message is handled and the processes are idle."""
        await self.drained()
        await self.server.wait_quiet()

    async def backlog(self) -> int:
        """Messages accepted and not yet handled, or replies not yet sent (botkit only)."""
        if self.stores is None:
            return 0
        return await self.stores.inbound.backlog() + await self.stores.queue.pending()

    async def drained(self, stall: float = 30.0) -> float:
        """Until the backlog is empty; the seconds that took. A backlog that has not shrunk
        for ``stall`` seconds stops the run: botkit is stuck, however big the backlog was."""
        start = progress = time.monotonic()
        smallest = await self.backlog()
        while smallest:
            self.server.check_alive()
            await asyncio.sleep(0.002)
            left = await self.backlog()
            if left < smallest:
                smallest, progress = left, time.monotonic()
            elif time.monotonic() - progress > stall:
                raise Failure(
                    f"{self.server.label}: {left} messages or replies still queued, none done "
                    f"for {stall:.0f} s"
                )
        return time.monotonic() - start

    async def redis_cpu(self) -> float:
        if self.redis is None:
            return 0.0
        info = await self.redis.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@dataclass
class Lab:
    workdir: Path
    redis_url: str
    bots_dir: Path
    status_callbacks: bool
    _streams: int = field(default=0)

    def maker_for(self, port: int) -> WebhookMaker:
        """Webhooks for a new port, with MessageSids no other system of the run has seen."""
        self._streams += 1
        return WebhookMaker(f"http://127.0.0.1:{port}/twilio/messages", self._streams)

    @contextlib.asynccontextmanager
    async def started(
        self,
        system: str,
        workers: int = 1,
        *,
        redis_url: str | None = None,
        loop: str | None = None,
    ) -> AsyncIterator[Running]:
        """system: "A", "B", "F" or "G" (bench/_floor.py, on an empty Redis), or a bot ("inc",
        "ping"), which gets an empty Redis, a fresh sandbox and ``redis_url`` (default: the
        run's Redis; a counting proxy's, say), and runs on ``loop`` (BOTKIT_EVENT_LOOP; None:
        botkit's default)."""
        port = free_port()
        maker = self.maker_for(port)
        if system == "A":
            with bare_aiohttp(port, self.workdir) as server:
                yield Running(server, maker)
            return
        if system == "B":
            with quickstart(port, self.workdir) as server:
                yield Running(server, maker)
            return
        redis = Redis.from_url(self.redis_url)
        await redis.flushall()
        if system == "F":  # its backlog is read as botkit's: stores of the namespace "floor"
            stores = build_stores(Settings(consent_pepper=PEPPER), "floor", redis)
            try:
                with floor(port, self.redis_url, self.workdir, workers) as server:
                    yield Running(server, maker, stores, redis)
            finally:
                await redis.aclose()
            return
        if system == "G":  # F with a reply per message, sent to a sandbox of its own
            stores = build_stores(Settings(consent_pepper=PEPPER), "floor", redis)
            try:
                with (
                    sandbox(self.workdir, False) as (sandbox_url, sandbox_pid),
                    floor(port, self.redis_url, self.workdir, workers, sandbox_url) as server,
                ):
                    yield Running(server, maker, stores, redis, sandbox_pid)
            finally:
                await redis.aclose()
            return
        stores = build_stores(Settings(consent_pepper=PEPPER), system, redis)
        try:
            with (
                sandbox(self.workdir, self.status_callbacks) as (sandbox_url, sandbox_pid),
                botkit_run(
                    system,
                    workers,
                    port,
                    redis_url=redis_url or self.redis_url,
                    sandbox_url=sandbox_url,
                    bots_dir=self.bots_dir,
                    workdir=self.workdir,
                    loop=loop,
                ) as server,
            ):
                yield Running(server, maker, stores, redis, sandbox_pid)
        finally:
            await redis.aclose()
