"""Slow clients are cut off, and cannot crowd Twilio out.

The probe held 200 connections sending headers at 1 byte/s and 200 sending bodies at 10 bytes/s
open for its whole 30 s. Now a request head must be complete within BOTKIT_HEADER_TIMEOUT, a
body within BOTKIT_BODY_TIMEOUT (408), and at BOTKIT_MAX_CONNECTIONS a new connection takes the
place of the oldest idle one (server/connections.py). Here: 500 slow connections against a cap
of 300, a valid webhook answered while they are held, and every one of them closed by the
server within a few seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from botkit import Bot
from botkit.twilio.signature import SIGNATURE_HEADER
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.server.captured import message
from tests.server.conftest import RunServer, StartRunServer
from tests.server.raw_http import request_head
from tests.support.process import botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port
from tests.support.webhooks import sign

SLOW_HEADERS = 250
SLOW_BODIES = 250
LIMIT = 300
DRIP = 0.25  # seconds between bytes: data keeps coming, just too slowly


@dataclass
class Slow:
    opened_at: float
    answer: bytes = b""
    closed_at: float | None = None


async def hold(port: int, head: bytes, slow: Slow) -> None:
    """Send head, then a byte every DRIP seconds, until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def drip() -> None:
        writer.write(head)
        while True:
            await asyncio.sleep(DRIP)
            writer.write(b"a")
            await writer.drain()

    dripping = asyncio.create_task(drip())
    try:
        slow.answer = await reader.read()  # until the server closes
        slow.closed_at = time.monotonic()
    except ConnectionError:
        slow.closed_at = time.monotonic()
    finally:
        dripping.cancel()
        await asyncio.gather(dripping, return_exceptions=True)
        writer.close()


async def open_slow(server: RunServer) -> tuple[list[Slow], list[asyncio.Task[None]]]:
    heads = [b"POST /twilio/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "] * SLOW_HEADERS
    heads += [request_head("/twilio/messages", 10_000)] * SLOW_BODIES
    slows = [Slow(time.monotonic()) for _ in heads]
    pairs = zip(heads, slows, strict=True)
    tasks = [asyncio.create_task(hold(server.port, head, slow)) for head, slow in pairs]
    await asyncio.sleep(0.3)  # every connection made and writing
    return slows, tasks


async def test_a_webhook_gets_through_500_slow_connections_which_are_then_cut_off(
    run_server: StartRunServer,
) -> None:
    server = await run_server(
        Bot("slow"), header_timeout=1.0, body_timeout=1.0, max_connections=LIMIT
    )
    most_open = 0

    async def watch() -> None:
        nonlocal most_open
        while True:
            most_open = max(most_open, server.guard.open_connections)
            await asyncio.sleep(0.02)

    watching = asyncio.create_task(watch())
    slows, tasks = await open_slow(server)
    try:
        held = sum(1 for s in slows if s.closed_at is None)
        began = time.monotonic()
        status, _ = await server.post(message())
        assert status == 200
        assert time.monotonic() - began < 1.0
        assert held >= LIMIT - 1  # the webhook got through while the slow ones were held
        async with asyncio.timeout(8):
            await asyncio.gather(*tasks)
    finally:
        watching.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, watching, return_exceptions=True)
    assert all(s.closed_at is not None for s in slows)
    assert max(s.closed_at - s.opened_at for s in slows if s.closed_at) < 6.0
    assert most_open <= LIMIT
    timed_out = [s for s in slows[SLOW_HEADERS:] if s.answer.startswith(b"HTTP/1.1 408")]
    assert timed_out, "bodies that took too long were answered 408"
    assert b"body not received within 1 s" in timed_out[0].answer
    assert await server.runtime.stores.inbound.backlog() == 1


async def test_each_process_of_botkit_run_workers_keeps_the_cap(clean_redis: str) -> None:
    # --workers N serves under gunicorn, whose worker makes its own site: the cap is the
    # runner's (GuardedRunner), so it holds there too, in each process.
    port = free_port()
    env = clean_env(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        REDIS_URL=clean_redis,
        BOTKIT_CONSENT_PEPPER="slow-test-pepper-0123",
        BOTKIT_PUBLIC_HOSTS=f"http://127.0.0.1:{port}",
        BOTKIT_TWILIO_BASE_URL="http://127.0.0.1:9",
        BOTKIT_MAX_CONNECTIONS="5",
    )
    with botkit_process(["run", "bots.echo", "--workers", "2", "--port", str(port)], env) as p:
        await asyncio.to_thread(wait_healthy, port, p)
        slows = [Slow(time.monotonic()) for _ in range(30)]
        head = b"POST /twilio/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        tasks = [asyncio.create_task(hold(port, head, slow)) for slow in slows]
        try:
            await asyncio.sleep(2.0)  # well within BOTKIT_HEADER_TIMEOUT's 10 s
            closed = sum(1 for slow in slows if slow.closed_at is not None)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
    assert closed >= 30 - 2 * 5, closed  # two processes keep five each, at most


async def test_a_kept_alive_connection_outlives_the_header_timeout(
    run_server: StartRunServer,
) -> None:
    # The header timeout is for a connection's first request: Twilio's kept-alive connection
    # is reused between bursts (aiohttp's 75 s keep-alive), not cut after BOTKIT_HEADER_TIMEOUT.
    server = await run_server(Bot("slow"), header_timeout=0.5)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        for pause in (0.0, 1.0):
            await asyncio.sleep(pause)
            params = message()
            body = urlencode(params).encode()
            signature = sign(AUTH_TOKEN, server.url("/twilio/messages"), params)
            head = request_head(
                "/twilio/messages",
                len(body),
                host=f"127.0.0.1:{server.port}",
                headers={SIGNATURE_HEADER: signature},
            )
            writer.write(head + body)
            async with asyncio.timeout(5):
                answer = await reader.readuntil(b"\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200"), answer
            length = int(answer.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
    finally:
        writer.close()
    assert await server.runtime.stores.inbound.backlog() == 2
