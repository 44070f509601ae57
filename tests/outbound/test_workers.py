"""``botkit worker`` processes: sending apart from the webhooks, sharing limits, surviving SIGKILL.

Judged from what the sandbox (in strict rate mode) recorded, as Twilio would see it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import socket
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner
from redis.asyncio import Redis

from botkit.cli.main import main
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.queue.protocol import Claim
from botkit.runtime.outbound import open_outbox
from botkit.runtime.redis import connect
from botkit.runtime.stores import build_stores
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.settings import Settings
from tests.conftest import clean_redis_of
from tests.support.process import botkit_process, clean_env, wait_healthy
from tests.support.redis_server import free_port, running_redis
from tests.support.webhooks import USER, inbound_params, sign

PEPPER = "worker-test-pepper-0123"
SENDERS = ["+15550100001", "+15550100002", "+15550100003"]
RATE = 20.0  # per sender, told to both the workers and the strict sandbox


def _env(redis_url: str, sandbox: Sandbox, **extra: str) -> dict[str, str]:
    rates = json.dumps({"long_code": RATE})
    return clean_env(
        TWILIO_ACCOUNT_SID=sandbox.config.account_sid,
        TWILIO_AUTH_TOKEN=sandbox.config.auth_token,
        BOTKIT_TWILIO_BASE_URL=sandbox.url,
        REDIS_URL=redis_url,
        BOTKIT_CONSENT_PEPPER=PEPPER,
        BOTKIT_RATES=rates,
        BOTKIT_DISPATCH_LEASE="1",
        **extra,
    )


async def _enqueue(redis_url: str, count: int) -> None:
    """Queue messages as the echo bot's webhook processes would (namespace "echo")."""
    settings = Settings(consent_pepper=PEPPER, rates=RateTable(long_code=RATE))
    redis = await connect(Settings(redis_url=redis_url))
    outbox = open_outbox(build_stores(settings, "echo", redis), settings)
    for n in range(count):
        await outbox.submit(
            OutboundMessage(
                to=f"+1555000{n % 7:04}",
                body=f"message {n}",
                from_=SENDERS[n % len(SENDERS)],
                idempotency_key=f"job-{n}",
                lane="bulk",
            )
        )
    await redis.aclose()


def _strict_sandbox() -> Sandbox:
    rates = {"long_code": RATE, "toll_free": 3.0, "short_code": 100.0,
             "messaging_service": 10.0, "whatsapp": 80.0}
    return Sandbox(SandboxConfig(strict_rates=True, status_step=0.002, rates=rates))


def test_worker_needs_redis() -> None:
    result = CliRunner().invoke(main, ["worker", "bots.echo"], env={"REDIS_URL": ""})
    assert result.exit_code == 2
    assert "REDIS_URL: required" in result.output


@pytest.mark.parametrize("kind", ["redis", "cluster"])
async def test_two_worker_processes_share_the_limits_and_survive_a_sigkill(
    kind: str, request: pytest.FixtureRequest
) -> None:
    clean_redis = clean_redis_of(kind, request)
    sandbox = _strict_sandbox()
    await sandbox.start()
    try:
        await _enqueue(clean_redis, 90)  # 1.5 s of work for three senders at 20/s
        env = _env(clean_redis, sandbox, BOTKIT_DISPATCH_CONCURRENCY="4")
        with (
            botkit_process(["worker", "bots.echo"], env) as doomed,
            botkit_process(["worker", "bots.echo"], env) as survivor,
        ):
            async with asyncio.timeout(15):
                while len(sandbox.state.rates.records) < 20:
                    await asyncio.sleep(0.01)
            doomed.send_signal(signal.SIGKILL)
            async with asyncio.timeout(30):
                while len({r.sid for r in sandbox.state.rates.records}) < 90:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.5)  # anything sent twice would have shown up by now
            survivor.send_signal(signal.SIGTERM)
            assert survivor.wait(timeout=10) == 0
    finally:
        await sandbox.stop()
    bodies = Counter(m.body for m in sandbox.state.messages.values())
    assert len(bodies) == 90 and set(bodies.values()) == {1}, bodies.most_common(3)
    for sender in SENDERS:
        times = sorted(r.at for r in sandbox.state.rates.records if r.sender == sender)
        assert len(times) == 30
        # Never two sends closer than the interval allows (with the sandbox's 10 ms tolerance).
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 1 / RATE - 0.011, min(gaps)


async def test_webhooks_without_dispatch_leave_sending_to_a_worker(clean_redis: str) -> None:
    sandbox = _strict_sandbox()
    await sandbox.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/twilio/messages"
    params = inbound_params("hello", AccountSid=sandbox.config.account_sid)
    headers = {"X-Twilio-Signature": sign(sandbox.config.auth_token, url, params)}
    try:
        env = _env(clean_redis, sandbox)
        args = ["run", "bots.echo", "--port", str(port), "--no-dispatch"]
        with botkit_process(args, env) as webhooks:
            await asyncio.to_thread(wait_healthy, port, webhooks)
            async with aiohttp.ClientSession() as http, http.post(
                url, data=params, headers=headers
            ) as response:
                assert response.status == 200
            await asyncio.sleep(1.0)
            assert sandbox.state.messages == {}  # queued, not sent: nobody dispatches
            with botkit_process(["worker", "bots.echo"], env):
                async with asyncio.timeout(10):
                    while not sandbox.state.messages:
                        await asyncio.sleep(0.02)
            [reply] = sandbox.state.messages.values()
            assert reply.to == USER and reply.body.startswith("Hello!")
    finally:
        await sandbox.stop()


async def _bury_one(redis_url: str) -> str:
    """A message Twilio refused (21617), dead-lettered as a worker would."""
    settings = Settings(consent_pepper=PEPPER)
    redis = Redis.from_url(redis_url)
    outbound = build_stores(settings, "echo", redis)
    handle = await open_outbox(outbound, settings).submit(
        OutboundMessage(to=USER, body="x" * 1601, from_=SENDERS[0], idempotency_key="big")
    )
    claim = await outbound.queue.claim(30)
    assert isinstance(claim, Claim)
    await outbound.queue.bury(claim, "rejected", "21617: too long")
    await redis.aclose()
    return handle.id


def test_deadletters_list_and_replay(clean_redis: str) -> None:
    job_id = asyncio.run(_bury_one(clean_redis))
    env = clean_env(REDIS_URL=clean_redis, BOTKIT_CONSENT_PEPPER=PEPPER)
    runner = CliRunner()
    listed = runner.invoke(main, ["deadletters", "list", "bots.echo"], env=env)
    assert listed.exit_code == 0, listed.output
    assert job_id in listed.output and "rejected" in listed.output
    assert "21617: too long" in listed.output
    replayed = runner.invoke(main, ["deadletters", "replay", "bots.echo", job_id], env=env)
    assert replayed.exit_code == 0 and f"{job_id}: queued" in replayed.output
    again = runner.invoke(main, ["deadletters", "replay", "bots.echo", job_id], env=env)
    assert again.exit_code == 2 and "not a dead letter" in again.output
    emptied = runner.invoke(main, ["deadletters", "list", "bots.echo"], env=env)
    assert "no dead letters" in emptied.output


HOOKED_BOT = '''
from botkit import Bot, Startup, WhatsAppTemplate

bot = Bot("echo")


@bot.on_startup
async def choose_template(startup: Startup) -> None:
    bot.whatsapp_template = WhatsAppTemplate(content_sid="{sid}")
'''


async def test_a_worker_runs_the_bots_startup_hooks(clean_redis: str, tmp_path: Path) -> None:
    """A hook that picks the WhatsApp template must run in ``botkit worker`` too: the worker is
    where a message outside the window becomes that template."""
    sandbox = _strict_sandbox()
    await sandbox.start()
    try:
        async with (
            aiohttp.ClientSession(
                auth=aiohttp.BasicAuth(sandbox.config.account_sid, sandbox.config.auth_token)
            ) as http,
            http.post(
                f"{sandbox.url}/v1/Content",
                json={"friendly_name": "news", "language": "en",
                      "types": {"twilio/text": {"body": "We have news"}}},
            ) as response,
        ):
            sid = (await response.json())["sid"]
        folder = tmp_path
        (folder / "hooked_bot.py").write_text(HOOKED_BOT.replace("{sid}", sid))
        settings = Settings(consent_pepper=PEPPER, rates=RateTable(long_code=RATE))
        redis = Redis.from_url(clean_redis)
        outbox = open_outbox(build_stores(settings, "echo", redis), settings)
        await outbox.submit(
            OutboundMessage(
                to="whatsapp:+15550001111",
                from_="whatsapp:+15550100001",
                body="the user never wrote: the window is closed",
                idempotency_key="closed-window",
            )
        )
        await redis.aclose()
        env = _env(clean_redis, sandbox, PYTHONPATH=str(folder))
        with botkit_process(["worker", "hooked_bot"], env, cwd=str(folder)):
            async with asyncio.timeout(15):
                while not sandbox.state.messages:
                    await asyncio.sleep(0.02)
        [sent] = sandbox.state.messages.values()
        assert sent.content_sid == sid and sent.body == "We have news"
    finally:
        await sandbox.stop()


async def test_a_worker_serves_health_readiness_and_its_metrics(clean_redis: str) -> None:
    sandbox = _strict_sandbox()
    await sandbox.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        await _enqueue(clean_redis, 3)
        args = ["worker", "bots.echo", "--port", str(port)]
        with botkit_process(args, _env(clean_redis, sandbox)):
            async with asyncio.timeout(15):
                while len(sandbox.state.messages) < 3:
                    await asyncio.sleep(0.02)
            async with aiohttp.ClientSession() as http:
                async with http.get(base + "/healthz") as health:
                    assert (health.status, await health.json()) == (200, {"status": "ok"})
                async with http.get(base + "/readyz") as ready:
                    assert ready.status == 200
                # The queue depth is read when scraped: 0 once the last send is settled.
                async with asyncio.timeout(5):
                    while "botkit_outbound_pending 0.0" not in (
                        text := await _metrics_text(http, base)
                    ):
                        await asyncio.sleep(0.05)
    finally:
        await sandbox.stop()
    assert 'botkit_sends_total{outcome="sent"} 3.0' in text


async def _metrics_text(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(base + "/metrics") as page:
        assert page.status == 200
        return await page.text()


def test_a_worker_port_in_use_is_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with running_redis() as url:
            # A sandbox's address (none listens there): in development mode without one, the
            # worker refuses before it gets to the port.
            env = {
                "REDIS_URL": url,
                "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
                "BOTKIT_TWILIO_BASE_URL": f"http://127.0.0.1:{free_port()}",
            }
            result = CliRunner().invoke(
                main, ["worker", "bots.echo", "--port", str(port)], env=env
            )
    assert result.exit_code == 2, result.output
    assert f"--port: cannot listen on 127.0.0.1:{port}" in result.output
