"""Sessions, deduplication and durable acceptance, end to end through the webhook."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from botkit import Bot, Context
from tests.conftest import StartServer, clean_redis_of
from tests.support.redis_server import running_redis
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params


def counting_bot(name: str = "counter") -> Bot:
    bot = Bot(name)

    @bot.fallback
    async def count(ctx: Context) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"n={ctx.session['n']}")

    return bot


async def test_session_persists_across_messages(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    server = await start_server(counting_bot(), redis_url=store_url)
    for _ in range(3):
        assert (await server.post(inbound_params("x"))).status == 200
        await server.idle()
    assert [m.body for m in twilio.sent] == ["n=1", "n=2", "n=3"]


async def test_sessions_are_per_user_and_per_channel(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    server = await start_server(counting_bot(), redis_url=store_url)
    await server.post(inbound_params("x"))
    await server.post(inbound_params("x", From="+15550009999"))
    await server.post(
        inbound_params("x", From="whatsapp:+15550001111", To="whatsapp:+15550002222")
    )
    await server.idle()
    assert sorted(m.body for m in twilio.sent) == ["n=1", "n=1", "n=1"]


async def test_a_photo_and_a_text_from_one_phone_share_a_session(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    server = await start_server(counting_bot(), redis_url=store_url)
    await server.post(inbound_params("x"))
    await server.idle()
    photo = inbound_params(
        "", NumMedia="1", MediaUrl0="https://example.com/a.jpg", MediaContentType0="image/jpeg"
    )
    await server.post(photo)  # MMS: another channel for routing, the same conversation
    await server.idle()
    assert [m.body for m in twilio.sent] == ["n=1", "n=2"]


async def test_session_survives_a_server_restart(
    start_server: StartServer, twilio: SandboxTwilio, clean_redis: str
) -> None:
    first = await start_server(counting_bot(), redis_url=clean_redis)
    await first.post(inbound_params("x"))
    await first.idle()
    await first.stop()
    second = await start_server(counting_bot(), redis_url=clean_redis)
    await second.post(inbound_params("x"))
    await second.idle()
    assert [m.body for m in twilio.sent] == ["n=1", "n=2"]


async def test_session_expires_after_its_ttl(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    server = await start_server(counting_bot(), redis_url=store_url, session_ttl=0.3)
    await server.post(inbound_params("x"))
    await server.idle()
    await asyncio.sleep(0.4)
    await server.post(inbound_params("x"))
    await server.idle()
    assert [m.body for m in twilio.sent] == ["n=1", "n=1"]


@pytest.mark.cluster
async def test_fifty_concurrent_messages_from_one_user_count_to_fifty(
    start_server: StartServer, store_url: str | None
) -> None:
    bot = Bot("counter")

    @bot.fallback
    async def count(ctx: Context) -> None:
        value = ctx.session.get("n", 0)
        await asyncio.sleep(0.001)  # widen the read-modify-write window
        ctx.session["n"] = value + 1

    server = await start_server(bot, redis_url=store_url)
    responses = await asyncio.gather(*(server.post(inbound_params("+1")) for _ in range(50)))
    assert [r.status for r in responses] == [200] * 50
    await server.idle(timeout=30)
    key = f"counter|sms|+15550002222|{server.runtime.stores.hasher.digest('+15550001111')}"
    assert await server.runtime.stores.sessions.get(key) == {"n": 50}


@pytest.mark.cluster
async def test_a_duplicate_webhook_runs_its_handler_once(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    runs: list[str] = []
    bot = Bot("dedup")

    @bot.fallback
    async def record(ctx: Context) -> None:
        runs.append(ctx.message.sid)

    server = await start_server(bot, redis_url=store_url)
    params = inbound_params("once")
    sequential = [await server.post(params) for _ in range(2)]
    concurrent = await asyncio.gather(*(server.post(params) for _ in range(5)))
    assert [r.status for r in [*sequential, *concurrent]] == [200] * 7
    for response in concurrent:
        assert "<Response />" in await response.text()
    await server.idle()
    assert runs == [params["MessageSid"]]


async def test_the_200_does_not_wait_for_a_slow_handler(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    release = asyncio.Event()
    bot = Bot("slow")

    @bot.fallback
    async def slow(ctx: Context) -> None:
        await release.wait()  # as slow as the test wants: Twilio must already have its 200
        await ctx.reply("done")

    server = await start_server(bot, redis_url=store_url)
    async with asyncio.timeout(2):
        response = await server.post(inbound_params("slow"))
    assert response.status == 200
    assert twilio.sent == []
    release.set()
    assert [m.body for m in await twilio.wait_for(1)] == ["done"]


async def test_a_slow_handler_keeps_its_session_lock(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    """A handler that outlives the lock lease renews it, so the next message waits its turn."""
    bot = Bot("slowlock")

    @bot.fallback
    async def count(ctx: Context) -> None:
        value = ctx.session.get("n", 0)
        if ctx.message.text == "slow":
            await asyncio.sleep(0.6)  # three lock leases
        ctx.session["n"] = value + 1
        await ctx.reply(f"{ctx.message.text} n={value + 1}")

    server = await start_server(bot, redis_url=store_url, lock_lease=0.2)
    await server.post(inbound_params("slow"))
    await asyncio.sleep(0.1)
    await server.post(inbound_params("fast"))
    await server.idle()
    assert [m.body for m in twilio.sent] == ["slow n=1", "fast n=2"]


@pytest.mark.parametrize("kind", ["redis", "cluster"])
async def test_an_accepted_message_survives_until_a_worker_runs_it(
    start_server: StartServer, twilio: SandboxTwilio, kind: str, request: pytest.FixtureRequest
) -> None:
    """Accepted by a process that never ran it (it died): the next process runs it."""
    clean_redis = clean_redis_of(kind, request)
    acceptor = await start_server(counting_bot(), redis_url=clean_redis, workers=False)
    assert (await acceptor.post(inbound_params("x"))).status == 200
    await acceptor.stop()
    assert twilio.sent == []
    runner = await start_server(counting_bot(), redis_url=clean_redis)
    assert [m.body for m in await twilio.wait_for(1)] == ["n=1"]
    await runner.idle()


async def test_readyz_reports_redis_health(start_server: StartServer) -> None:
    with running_redis() as url:
        server = await start_server(counting_bot(), redis_url=url)
        assert (await server.client.get("/readyz")).status == 200
        assert (await server.client.get("/healthz")).status == 200
    response = await server.client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["status"] == "unavailable"
    assert (await server.client.get("/healthz")).status == 200


async def test_a_refused_send_is_logged_not_raised_to_twilio(
    start_server: StartServer, twilio: SandboxTwilio, capsys: pytest.CaptureFixture[str]
) -> None:
    """The user texted STOP (Twilio answers 21610 to sends): the webhook is still a 200."""
    async with aiohttp.ClientSession() as http:
        phone = f"{twilio.base_url}/sandbox/phones/{USER}/messages"
        async with http.post(phone, json={"to": BOT_NUMBER, "body": "STOP"}) as response:
            assert response.status == 201
    server = await start_server(counting_bot())
    assert (await server.post(inbound_params("x"))).status == 200
    await server.idle()
    assert [m.body for m in twilio.sent if m.to == USER and m.body.startswith("n=")] == []


async def test_an_unreachable_twilio_delays_the_reply_and_loses_nothing(
    start_server: StartServer, twilio: SandboxTwilio, store_url: str | None
) -> None:
    server = await start_server(counting_bot(), redis_url=store_url)
    port = int(twilio.base_url.rsplit(":", 1)[1])
    await twilio.sandbox.stop()
    assert (await server.post(inbound_params("x"))).status == 200
    key = f"counter|sms|+15550002222|{server.runtime.stores.hasher.digest('+15550001111')}"
    async with asyncio.timeout(5):
        while await server.runtime.stores.sessions.get(key) is None:
            await asyncio.sleep(0.01)
    assert await server.runtime.stores.sessions.get(key) == {"n": 1}  # the handler ran
    await asyncio.sleep(0.3)  # the outbound worker tries, gets no answer, and backs off
    assert await server.runtime.stores.queue.pending() == 1
    await twilio.sandbox.start(port=port)
    assert [m.body for m in await twilio.wait_for(1, timeout=10)] == ["n=1"]
