"""A client that hangs up mid-request is counted apart from a failing store, at info level.

The probe found each disconnect counted as a 503 in ``botkit_webhooks_total`` and logged at
error level, the signal an operator alerts on when Redis fails. It is now a 499 (nginx's "client
closed request"; nobody is there to receive it), logged at info.
"""

from __future__ import annotations

import asyncio

from botkit import Bot
from tests.server.conftest import StartRunServer
from tests.server.raw_http import request_head
from tests.support.logs import JsonLogs

PATH = "/twilio/messages"
COUNTED = 'botkit_webhooks_total{path="/twilio/messages",status="%s"}'


async def test_a_client_gone_mid_body_is_a_499_at_info(
    run_server: StartRunServer, logs: JsonLogs, store_url: str | None
) -> None:
    server = await run_server(Bot("disconnects"), redis_url=store_url)
    logs.take()
    for _ in range(3):
        _, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request_head(PATH, 1000) + b"MessageSid=SM")
        await writer.drain()
        await asyncio.sleep(0.05)  # the handler is reading the body
        writer.close()
        await writer.wait_closed()
    async with asyncio.timeout(5):
        while await server.metric(COUNTED % 499 + " 3.0") is None:
            await asyncio.sleep(0.02)
    assert await server.metric(COUNTED % 503) is None
    lines = [line for line in logs.take() if line.get("component") == "server"]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("client disconnected before the answer", "info")
    ] * 3
    assert await server.runtime.stores.inbound.backlog() == 0
