"""bench/_http.py's paced load is open-loop: a slow server does not slow the sending down, and
its latencies count from when each request was due."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench._http import Connection, paced, percentile, send_all
from bench._webhooks import WebhookMaker
from tests.bench.endpoint import webhook_endpoint

SERVICE_SECONDS = 0.1


@pytest.fixture
async def slow_server() -> AsyncIterator[tuple[str, int]]:
    async def messages(request: web.Request) -> web.Response:
        await request.post()
        await asyncio.sleep(SERVICE_SECONDS)
        return web.Response(text="<Response />", content_type="text/xml")

    async with webhook_endpoint(messages) as port:
        yield "127.0.0.1", port


async def test_a_slow_server_does_not_slow_the_paced_load(slow_server: tuple[str, int]) -> None:
    host, port = slow_server
    requests = WebhookMaker(f"http://{host}:{port}/twilio/messages", 1).batch(40)
    run = await paced(host, port, requests, rate=200.0, warm=4)
    assert run.statuses == {200: 40} and not run.failures
    # 40 requests 5 ms apart, each answered 100 ms later: about 0.3 s, not 40 x 0.1 s / 4.
    assert run.seconds < 0.3 + 0.2
    assert run.connections > 4
    assert min(run.latencies_ms) >= SERVICE_SECONDS * 1e3
    assert percentile(run.latencies_ms, 0.5) < SERVICE_SECONDS * 1e3 + 100


async def test_send_all_answers_in_order(slow_server: tuple[str, int]) -> None:
    host, port = slow_server
    requests = WebhookMaker(f"http://{host}:{port}/twilio/messages", 1).batch(8)
    answers = await send_all(host, port, requests, concurrency=4)
    assert [a.status for a in answers] == [200] * 8
    assert answers[0].body == b"<Response />"


async def test_a_connection_the_server_closed_while_idle_is_reopened() -> None:
    async def messages(request: web.Request) -> web.Response:
        return web.Response(text="<Response />", content_type="text/xml")

    # What gunicorn does to an idle keep-alive connection, after 2 s rather than 0.05.
    async with webhook_endpoint(messages, keepalive_timeout=0.05) as port:
        requests = WebhookMaker(f"http://127.0.0.1:{port}/twilio/messages", 1).batch(2)
        connection = Connection("127.0.0.1", port)
        try:
            assert (await connection.exchange(requests[0])).status == 200
            await asyncio.sleep(0.3)
            assert (await connection.exchange(requests[1])).status == 200
        finally:
            await connection.close()
