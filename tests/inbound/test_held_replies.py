"""A 1:1 message's replies are queued with its acknowledgement (botkit/outbound/held_outbox.py).

Held replies must cost nothing in correctness: a fast handler's replies wait for the handler's
end and go in the finishing round trip, a slow handler's first reply goes while it works, and
a reply that cannot be queued leaves its message unfinished rather than acknowledged.
"""

from __future__ import annotations

import asyncio

import pytest

from botkit import Bot, Context
from botkit.outbound.message import OutboundMessage
from tests.conftest import StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params


@pytest.mark.cluster
async def test_a_fast_handlers_replies_are_queued_as_its_message_is_finished(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    bot = Bot("held")
    queued_while_running: list[int] = []

    @bot.fallback
    async def answer(ctx: Context) -> None:
        await ctx.reply("one")
        await ctx.reply("two")
        queued_while_running.append(await server.runtime.stores.queue.pending())

    server = await start_server(bot, redis_url=store_url)
    assert (await server.post(inbound_params("hi"))).status == 200
    await server.idle()
    assert queued_while_running == [0]  # held: nothing in the queue while the handler ran
    assert [m.body for m in twilio.sent] == ["one", "two"]


async def test_with_no_hold_each_reply_is_queued_as_it_is_sent(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    bot = Bot("unheld")
    queued_while_running: list[int] = []

    @bot.fallback
    async def answer(ctx: Context) -> None:
        await ctx.reply("one")
        queued_while_running.append(await server.runtime.stores.queue.pending())

    server = await start_server(bot, redis_url=store_url, reply_hold=0)
    await server.post(inbound_params("hi"))
    await server.idle()
    assert queued_while_running == [1]
    assert [m.body for m in twilio.sent] == ["one"]


async def test_a_slow_handlers_first_reply_goes_while_it_works(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    bot = Bot("slow")
    first_arrived = asyncio.Event()
    handles: list[str] = []

    @bot.fallback
    async def look_up(ctx: Context) -> None:
        handles.append((await ctx.reply("Looking up your order...")).id)
        async with asyncio.timeout(10):
            await first_arrived.wait()  # the person has it before the work is done
        handles.append((await ctx.reply("Shipped yesterday.")).id)

    server = await start_server(bot, redis_url=store_url, reply_hold=0.05)
    await server.post(inbound_params("where is my order"))
    await twilio.wait_for(1, timeout=10)
    first_arrived.set()
    await server.idle()
    assert [m.body for m in twilio.sent] == ["Looking up your order...", "Shipped yesterday."]
    # The handle a handler gets names the job that was queued, held or not.
    for handle in handles:
        assert await server.runtime.stores.queue.status(handle) is not None


async def test_a_reply_that_cannot_be_queued_leaves_its_message_unfinished(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    """The enqueue and the finish share a pipeline, which runs the finish even when the
    enqueue failed: the finish checks the reply's idempotency key first."""
    bot = Bot("blocked")

    @bot.fallback
    async def answer(ctx: Context) -> None:
        ctx.session["seen"] = True
        await ctx.reply("never queued")

    server = await start_server(bot, redis_url=clean_redis, inbound_lease=0.5)
    stores = server.runtime.stores
    params = inbound_params("hi")
    # The reply's key (<MessageSid>:1) made unusable: its enqueue fails with WRONGTYPE.
    key = f"{params['MessageSid']}:1"
    message = OutboundMessage(to=USER, from_=BOT_NUMBER, body="x", idempotency_key=key)
    step = stores.queue.enqueue_step(stores.jobs.build(message, lane="reply"))
    assert step is not None and step.proof is not None
    redis = stores.redis
    assert redis is not None
    await redis.hset(step.proof, "in", "the way")
    assert (await server.post(params)).status == 200
    await asyncio.sleep(1.5)  # the handler ran, more than once: its lease lapsed
    assert twilio.sent == []
    assert await stores.inbound.backlog() == 1  # not acknowledged
    await redis.delete(step.proof)
    await server.idle()
    assert [m.body for m in twilio.sent] == ["never queued"]
    assert await stores.inbound.backlog() == 0
