"""GET /metrics: Prometheus text with what an operator graphs: webhook answers, send outcomes,
queue depths. And GET /healthz, which fails when a background loop stopped working."""

from __future__ import annotations

import asyncio
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from botkit import Bot, Context
from botkit.core.tasks import cancel_and_wait
from tests.conftest import StartServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params


def echo_bot() -> Bot:
    bot = Bot("metered")

    @bot.fallback
    async def echo(ctx: Context) -> None:
        await ctx.reply(f"you said {ctx.message.body}")

    return bot


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_webhooks_and_sends(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    server = await start_server(echo_bot(), redis_url=store_url)
    await server.post(inbound_params("hi", MessageSid="SM" + "1" * 32))
    await server.post(inbound_params("hi", MessageSid="SM" + "1" * 32))  # a duplicate: 200
    forged = await server.client.post("/twilio/messages", data=inbound_params("hi"))
    assert forged.status == 403
    await server.idle()
    response = await server.client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    found = samples(await response.text())
    webhooks = "botkit_webhooks_total"
    assert found[(webhooks, (("path", "/twilio/messages"), ("status", "200")))] == 2
    assert found[(webhooks, (("path", "/twilio/messages"), ("status", "403")))] == 1
    assert found[("botkit_sends_total", (("outcome", "sent"),))] == 1
    assert found[("botkit_outbound_pending", ())] == 0
    assert found[("botkit_inbound_backlog", ())] == 0
    assert [m.body for m in twilio.sent] == ["you said hi"]


async def test_a_dead_letter_is_counted_by_its_reason(
    start_server: StartServer, twilio: SandboxTwilio
) -> None:
    bot = Bot("metered")

    @bot.fallback
    async def too_long(ctx: Context) -> None:
        await ctx.reply("x" * 1601)  # Twilio refuses it (21617): dead-lettered as "rejected"

    server = await start_server(bot)
    await server.post(inbound_params("hi"))
    await server.idle()
    found = samples(await (await server.client.get("/metrics")).text())
    assert found[("botkit_sends_total", (("outcome", "rejected"),))] == 1
    assert ("botkit_sends_total", (("outcome", "sent"),)) not in found


# One loop of each component that serves the process (the take loop sits in a blocking Redis
# read, where redis-py may swallow a cancellation: stop() ends it by its flag instead).
@pytest.mark.parametrize("loop", ["dispatch-claim", "inbound-reclaim"])
async def test_healthz_fails_once_a_background_loop_ended(
    start_server: StartServer, store_url: str | None, loop: str
) -> None:
    # Alive but not sending, or not handling what it accepts, is the worst state for a process:
    # /healthz says so, and names why, so an orchestrator restarts it.
    server = await start_server(echo_bot(), redis_url=store_url)
    healthy = await server.client.get("/healthz")
    assert (healthy.status, await healthy.json()) == (200, {"status": "ok"})
    [task] = [t for t in asyncio.all_tasks() if t.get_name() == loop]
    await cancel_and_wait([task])  # ended, as a bug would end it
    assert task.done()
    sick = await server.client.get("/healthz")
    assert sick.status == 503
    assert await sick.json() == {"status": "unhealthy", "reason": f"loop ended: {loop}"}


async def test_a_server_stalled_past_its_redis_read_timeout_handles_the_next_webhook_at_once(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    # The inbound worker waits for events in a blocking read (1 s); a process stalled past the
    # client's read timeout (here 1.2 s) finds it timed out: a one-off, retried at once.
    server = await start_server(echo_bot(), redis_url=clean_redis + "?socket_timeout=1.2")
    await asyncio.sleep(0.2)  # waiting for events
    time.sleep(1.5)  # the whole process stalls  # noqa: ASYNC251
    began = time.monotonic()
    await server.post(inbound_params("after the stall"))
    [reply] = await twilio.wait_for(1)
    assert reply.body == "you said after the stall"
    assert time.monotonic() - began < 0.8
