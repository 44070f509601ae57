"""Failover without loss (slow: run by scripts/test.sh and CI, not by a plain local pytest).

Under a steady stream of distinct signed webhooks, the Redis master everything is queued on is
SIGKILLed and its replica takes over (Redis Cluster's own failover, or Sentinel's). The sender
behaves as Twilio does: a webhook that gets no 200 is sent again. Afterwards every webhook that
got a 200 has had its handler run, and no reply went twice.
"""

from __future__ import annotations

import asyncio
import signal
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.support.process import botkit_process, clean_env, wait_healthy
from tests.support.redis_cluster import Topology, running_cluster, running_sentinels
from tests.support.redis_server import free_port
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params, sign

pytestmark = pytest.mark.slow

ECHO_BOT = """
    from botkit import Bot, Context

    bot = Bot("failover")


    @bot.fallback
    async def echo(ctx: Context) -> None:
        await ctx.reply(f"got {ctx.message.sid}")
"""

WEBHOOKS = 500
RATE = 100.0  # webhooks a second: 5 s of traffic


@dataclass
class Run:
    """What the sender saw: the webhooks that got their 200, and how long the outage was."""

    accepted: set[str] = field(default_factory=set)
    attempts: Counter[str] = field(default_factory=Counter)
    outage_began: float | None = None
    outage_ended: float | None = None


@pytest.fixture
def cluster() -> Iterator[Topology]:
    with running_cluster() as topology:
        yield topology


@pytest.fixture
def sentinels() -> Iterator[Topology]:
    with running_sentinels() as topology:
        yield topology


async def test_a_cluster_master_killed_under_load_loses_nothing(
    tmp_path: Path, twilio: SandboxTwilio, cluster: Topology
) -> None:
    await _survive_the_master(tmp_path, twilio, cluster, _cluster_master_of_the_stream)


async def test_a_sentinel_failover_under_load_loses_nothing(
    tmp_path: Path, twilio: SandboxTwilio, sentinels: Topology
) -> None:
    await _survive_the_master(tmp_path, twilio, sentinels, _sentinel_master)


async def _survive_the_master(
    tmp_path: Path, twilio: SandboxTwilio, topology: Topology, master_of: object
) -> None:
    (tmp_path / "failover.py").write_text(textwrap.dedent(ECHO_BOT))
    port = free_port()
    env = clean_env(
        PYTHONPATH=str(tmp_path),
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        REDIS_URL=topology.url,
        BOTKIT_TWILIO_BASE_URL=twilio.base_url,
        BOTKIT_PUBLIC_URL=f"http://127.0.0.1:{port}",
        BOTKIT_CONSENT_PEPPER="failover-test-pepper-0123",
        BOTKIT_INBOUND_LEASE="2",
        BOTKIT_DISPATCH_LEASE="2",
        BOTKIT_LOCK_LEASE="2",
        BOTKIT_RATES='{"long_code": 1000}',
        BOTKIT_ACCEPT_REPLICA_TIMEOUT="0.5",
    )
    # Its output to a file: 500 messages' lines, and a failover's errors, would fill a pipe.
    log = tmp_path / "botkit.log"
    with botkit_process(["run", "failover", "--port", str(port)], env, log=log) as bot:
        await asyncio.to_thread(wait_healthy, port, bot)
        run = Run()
        victim = master_of(topology)  # type: ignore[operator]
        # Twilio gives up on a webhook after 15 s and retries it; this sender after 5.
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            sending = asyncio.create_task(_send_steadily(http, port, run))
            await asyncio.sleep(WEBHOOKS / RATE / 3)
            killed_at = time.monotonic()
            topology.servers[victim].send_signal(signal.SIGKILL)
            readiness = asyncio.create_task(_watch_readiness(http, port, sending))
            await sending
            ready = await readiness
        # Meanwhile /readyz said Redis was unreachable, then ready again.
        assert "redis unreachable" in ready and ready[-1] == "ready", ready
        assert len(run.accepted) == WEBHOOKS  # every webhook got its 200 in the end

        # Every accepted webhook's handler ran; no reply went twice.
        async with asyncio.timeout(60):
            while len(twilio.sent) < WEBHOOKS:
                await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # a duplicate, if any, would come now (leases are 2 s)
        replies = Counter(m.body for m in twilio.sent)
        assert {body.removeprefix("got ") for body in replies} == run.accepted
        assert [body for body, count in replies.items() if count > 1] == []

        recovered = (run.outage_ended or killed_at) - killed_at
        retried = sum(1 for count in run.attempts.values() if count > 1)
        print(
            f"\nfailover: {WEBHOOKS} webhooks at {RATE:g}/s, the master SIGKILLed; webhooks got "
            f"200 again {recovered:.2f} s after the kill; {retried} were sent more than once "
            "(as Twilio retries); 0 lost, 0 replies twice"
        )


async def _send_steadily(http: aiohttp.ClientSession, port: int, run: Run) -> None:
    """Each webhook at its moment, and again (as Twilio retries) until it gets a 200."""
    url = f"http://127.0.0.1:{port}/twilio/messages"
    start = time.monotonic()

    async def deliver(n: int) -> None:
        await asyncio.sleep(max(0.0, start + n / RATE - time.monotonic()))
        params = inbound_params(f"message {n}", From=f"+1555000{n:04}")
        while True:
            run.attempts[params["MessageSid"]] += 1
            status = await _post(http, url, params)
            if status == 200:
                run.accepted.add(params["MessageSid"])
                if run.outage_began is not None and run.outage_ended is None:
                    run.outage_ended = time.monotonic()
                return
            if run.outage_began is None:
                run.outage_began = time.monotonic()
            await asyncio.sleep(1.0)  # Twilio waits longer; a second keeps the test short

    async with asyncio.timeout(90):
        await asyncio.gather(*(deliver(n) for n in range(WEBHOOKS)))


async def _watch_readiness(
    http: aiohttp.ClientSession, port: int, until: asyncio.Task[None]
) -> list[str]:
    """What /readyz said, each change once, until ``until`` is done."""
    said: list[str] = []
    while not until.done():
        try:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                body = await response.json()
                now = "ready" if response.status == 200 else str(body.get("reason"))
        except (aiohttp.ClientError, TimeoutError, ValueError):
            now = "no answer"
        if not said or said[-1] != now:
            said.append(now)
        await asyncio.sleep(0.05)
    return said


async def _post(http: aiohttp.ClientSession, url: str, params: dict[str, str]) -> int:
    headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, url, params)}
    try:
        async with http.post(url, data=params, headers=headers) as response:
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


def _cluster_master_of_the_stream(cluster: Topology) -> int:
    """The master serving the slot of the bot's inbound stream (and its sessions)."""
    any_port = next(iter(cluster.servers))
    slot = int(cluster.cli(any_port, "cluster", "keyslot", "{botkit:inbound:failover}").strip())
    return cluster.master_of(slot)[1]


def _sentinel_master(sentinels: Topology) -> int:
    for port in sentinels.servers:
        try:
            if "role:master" in sentinels.cli(port, "info", "replication"):
                return port
        except Exception:
            continue
    raise AssertionError("no master")
