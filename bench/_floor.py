"""Systems F and G of bench/inbound.py: the floors under botkit ``inc`` and ``ping``.

F is bare aiohttp (as system A) plus exactly the Redis work an ``inc`` message costs botkit,
done through botkit's own stores: the webhook is accepted into the inbound stream with its
dedup key (one round trip, then the 200), and a consumer takes it with its session locked and
loaded (one) and saves the incremented session, unlocks it and acknowledges the message (one).
What botkit does beyond this (the signature check, the message model, routing, the handler's
context, logging, metrics) is what separates ``inc`` from F; what separates F from A is aiohttp
plus redis-py plus the Lua, which no change inside botkit can remove.

G (``--reply SANDBOX_URL``) is F plus exactly what a one-reply message adds: the reply queued
in the acknowledging round trip (botkit's own outbound queue), then claimed in batches with up
to 64 sends in flight, sent through the twilio SDK to the same sandbox the ``ping`` rows use,
and settled in batches; without pacing, the consent re-check, logging or metrics.

``--processes 2`` serves from two processes on one port (SO_REUSEPORT), each with its own
consumer, as ``botkit run --workers 2`` does: the floor under the ``--workers 2`` rows.

Usage: ``python bench/_floor.py PORT REDIS_URL [--processes N] [--reply SANDBOX_URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator

from aiohttp import web
from redis.asyncio import Redis

from bench._systems import ACCOUNT_SID, AUTH_TOKEN, PEPPER, UNLIMITED_RATES
from botkit.inbound.queue.protocol import NONE
from botkit.outbound.held_outbox import HeldReplies
from botkit.outbound.message import OutboundMessage
from botkit.outbound.outbox import QueueOutbox
from botkit.outbound.queue.protocol import Claim
from botkit.outbound.worker import FORM_HEADERS
from botkit.runtime.stores import Stores, build_stores
from botkit.sessions.protocol import SessionSave
from botkit.settings import Settings
from botkit.twilio.client import create_async_client

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
DEDUP_TTL = 24 * 3600.0
LEASE = 30.0
BATCH = 64
SETTLE_EVERY = 0.002


def build(redis_url: str, sandbox_url: str | None) -> web.Application:
    redis = Redis.from_url(redis_url)
    rates = json.loads(UNLIMITED_RATES)
    settings = Settings.model_validate({"consent_pepper": PEPPER, "BOTKIT_RATES": rates})
    stores = build_stores(settings, "floor", redis)
    queue = stores.inbound
    outbox = QueueOutbox(stores.queue, stores.jobs)

    async def messages(request: web.Request) -> web.Response:
        form = await request.post()
        key = f"{form['To']}|{form['From']}"
        await queue.accept(str(form["MessageSid"]), _payload(form), DEDUP_TTL, key)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def consume() -> None:
        while True:
            for delivery in await queue.take("floor", BATCH, 1.0, LEASE):
                save = None
                if delivery.session is not None:
                    data = delivery.session.data
                    data["count"] = int(data.get("count", 0)) + 1
                    save = SessionSave(delivery.session, data, 3600.0)
                await queue.finish(delivery, save, _reply(outbox, delivery.payload, sandbox_url))

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        await queue.prepare()
        tasks = [asyncio.create_task(consume())]
        if sandbox_url is not None:
            tasks.append(asyncio.create_task(dispatch(stores, sandbox_url)))
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await redis.aclose()

    app = web.Application()
    app.router.add_post("/twilio/messages", messages)
    app.cleanup_ctx.append(lifetime)
    return app


def _payload(form: object) -> str:
    """What the consumer needs to reply: the bot's number, the user's, the MessageSid."""
    get = form.get  # type: ignore[attr-defined]
    return f"{get('To')}|{get('From')}|{get('MessageSid')}"


def _reply(outbox: QueueOutbox, payload: str, sandbox_url: str | None) -> HeldReplies:
    if sandbox_url is None:
        return NONE
    bot, user, sid = payload.split("|")
    message = OutboundMessage(to=user, from_=bot, body="pong", idempotency_key=f"{sid}:1")
    return HeldReplies((outbox.prepare(message),), outbox)


async def dispatch(stores: Stores, sandbox_url: str) -> None:
    """Claim what is due, up to BATCH sends in flight, as the outbound worker does; send each
    through the SDK; settle what was sent in batches, every SETTLE_EVERY seconds."""
    client = create_async_client(ACCOUNT_SID, AUTH_TOKEN, sandbox_url)
    # The request the outbound worker makes (botkit/outbound/worker.py, _create).
    api, uri = client.api.v2010, f"/Accounts/{ACCOUNT_SID}/Messages.json"
    places = asyncio.Semaphore(BATCH)
    done: list[tuple[Claim, str]] = []
    sends: set[asyncio.Task[None]] = set()

    async def send(claim: Claim) -> None:
        try:
            message = claim.job.message
            form = {"To": message.to, "From": message.from_, "Body": message.body}
            created = await api.create_async(
                method="POST", uri=uri, data=form, headers=dict(FORM_HEADERS)
            )
            done.append((claim, str(created["sid"])))
        finally:
            places.release()

    async def settle() -> None:
        while True:
            await asyncio.sleep(SETTLE_EVERY)
            if done:
                batch, done[:] = list(done), []
                await stores.queue.complete_many(batch)

    settler = asyncio.create_task(settle())
    try:
        while True:
            await places.acquire()
            free = 1
            while not places.locked():
                await places.acquire()
                free += 1
            batch = await stores.queue.claim_many(LEASE, free)
            for _ in range(free - len(batch.claims)):
                places.release()
            for claim in batch.claims:
                task = asyncio.create_task(send(claim))
                sends.add(task)
                task.add_done_callback(sends.discard)
            if not batch.claims:
                await stores.queue.wait_for_work(0.05)
    finally:
        settler.cancel()
        await client.http_client.close()  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("redis_url")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--reply", metavar="SANDBOX_URL")
    args = parser.parse_args()
    for _ in range(args.processes - 1):
        if os.fork() == 0:
            break  # a child serves too, on the same port
    web.run_app(
        build(args.redis_url, args.reply),
        host="127.0.0.1",
        port=args.port,
        reuse_port=True,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
