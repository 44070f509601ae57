"""System F of bench/inbound.py: the floor under botkit ``inc``, one process.

Bare aiohttp (as system A) plus exactly the Redis work an ``inc`` message costs botkit, done
through botkit's own stores: the webhook is accepted into the inbound stream with its dedup key
(one round trip, then the 200), and a consumer takes it with its session locked and loaded (one)
and saves the incremented session, unlocks it and acknowledges the message (one). What botkit
does beyond this (the signature check, the message model, routing, the handler's context,
logging, metrics) is what separates ``inc`` from F; what separates F from A is aiohttp plus
redis-py plus the Lua, which no change inside botkit can remove.

Usage: ``python bench/_floor.py PORT REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from botkit.inbound.queue.redis import RedisInboundQueue
from botkit.sessions.protocol import SessionSave
from botkit.sessions.redis import RedisSessionStore
from botkit.sessions.shards import Shards

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
DEDUP_TTL = 24 * 3600.0
LEASE = 30.0
BATCH = 64


def build(redis_url: str) -> web.Application:
    redis = Redis.from_url(redis_url)
    sessions = RedisSessionStore(redis, Shards("floor", 1))
    queue = RedisInboundQueue(redis, sessions)

    async def messages(request: web.Request) -> web.Response:
        form = await request.post()
        key = f"{form['To']}|{form['From']}"
        await queue.accept(str(form["MessageSid"]), str(form["Body"]), DEDUP_TTL, key)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def consume() -> None:
        while True:
            for delivery in await queue.take("floor", BATCH, 1.0, LEASE):
                save = None
                if delivery.session is not None:
                    data = delivery.session.data
                    data["count"] = int(data.get("count", 0)) + 1
                    save = SessionSave(delivery.session, data, 3600.0)
                await queue.finish(delivery, save)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await queue.prepare()
        consumer = asyncio.create_task(consume())
        yield
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await redis.aclose()

    app = web.Application()
    app.router.add_post("/twilio/messages", messages)
    app.cleanup_ctx.append(lifetime)
    return app


if __name__ == "__main__":
    web.run_app(
        build(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None
    )
