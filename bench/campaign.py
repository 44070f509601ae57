"""Benchmark of campaigns (issue 20): 100,000 recipients on the strict sandbox with real Redis.

Everything runs in processes of its own, as in production: a Redis on a free port, the sandbox
(strict rates) with one Messaging Service of three numbers at 10 messages a second, the bot
(``botkit run bots.echo --no-dispatch``, answering webhooks and running handlers) and
``botkit worker bots.echo`` processes (feeding the campaign and sending). Status callbacks are on
(BOTKIT_PUBLIC_URL is the bot's), so delivery is counted as a campaign's is.

1. Queueing: the audience (100,000 numbers, a name each) is added to a campaign from the
   Messaging Service with the same code ``botkit broadcast`` runs (Broadcasts.start), timed, and
   the Redis memory it took is read before and after (INFO used_memory, after a MEMORY PURGE):
   recipients per second, and bytes per queued recipient. The outbound queue's own cost per job
   is measured too, on the jobs the feeder keeps in line.
2. Sending: the campaign is backlogged for ``--seconds`` (100,000 at 10/s would take hours):
   the sender's sends as the sandbox recorded them give its utilization (sends x cost / rate /
   the window), and 429s are counted. Meanwhile a phone writes to the service every 0.7 s; the
   reply latency is the time from its message to the sandbox's record of the bot's reply (which
   is queued behind the campaign on the same sender, in the reply lane), p50 and p99.

Targets: queueing >= 20,000 recipients/s; <= 600 B of Redis memory per queued message; reply p99
<= one rate slot (100 ms at 10/s) + 100 ms.

Run from the repository root: ``python bench/campaign.py [--recipients 100000] [--seconds 30]
[--workers 2]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from redis.asyncio import Redis  # noqa: E402

from bench._proc import stop  # noqa: E402
from bench._table import table  # noqa: E402
from botkit.campaigns.audience import audience_of  # noqa: E402
from botkit.campaigns.model import Campaign, Content  # noqa: E402
from botkit.campaigns.service import Broadcasts  # noqa: E402
from botkit.runtime.stores import build_stores  # noqa: E402
from botkit.sandbox.config import MessagingService, SandboxConfig  # noqa: E402
from botkit.settings import Settings  # noqa: E402
from botkit.twilio.development import (  # noqa: E402
    DEVELOPMENT_ACCOUNT_SID,
    DEVELOPMENT_AUTH_TOKEN,
)
from tests.support.redis_server import free_port, running_redis  # noqa: E402

PEPPER = "bench-campaign-pepper-0123456789"
NAMESPACE = "echo"  # bots.echo
SERVICE = "MG" + "c" * 32
POOL = ["+15552000001", "+15552000002", "+15552000003"]
RATE = 10.0  # the Messaging Service's messages a second (Twilio's default)
PHONE = "+15553000001"  # the user who writes while the campaign is backlogged
TARGET_RATE = 20_000
TARGET_BYTES = 600
TARGET_REPLY_P99 = 1 / RATE + 0.100


def numbers(count: int) -> list[dict[str, str]]:
    return [{"phone": f"+1555{n:07d}", "name": f"Customer {n}"} for n in range(count)]


@contextlib.contextmanager
def sandbox_process(workdir: Path, bot_url: str) -> Iterator[str]:
    config = SandboxConfig(
        strict_rates=True,
        services=[
            MessagingService(sid=SERVICE, numbers=POOL, inbound_url=f"{bot_url}/twilio/messages")
        ],
        status_step=0.05,
        rates=dict(SandboxConfig().rates) | {"messaging_service": RATE},
    )
    spec = workdir / "sandbox.json"
    spec.write_text(json.dumps({"config": config.model_dump(mode="json")}))
    with (workdir / "sandbox.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, str(BENCH / "_sandbox.py"), str(spec)],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=ROOT,
        )
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            if not url.startswith("http"):
                raise RuntimeError(f"the sandbox did not start; see {log.name}")
            yield url
        finally:
            stop(proc)


def env_for(redis_url: str, sandbox_url: str, bot_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOTKIT_", "TWILIO_")) and k != "REDIS_URL"
    }
    env.update(
        TWILIO_ACCOUNT_SID=DEVELOPMENT_ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=DEVELOPMENT_AUTH_TOKEN,
        BOTKIT_TWILIO_BASE_URL=sandbox_url,
        BOTKIT_PUBLIC_URL=bot_url,
        REDIS_URL=redis_url,
        BOTKIT_CONSENT_PEPPER=PEPPER,
        BOTKIT_LOG_FORMAT="json",
        BOTKIT_LOG_LEVEL="warning",
    )
    return env


@contextlib.contextmanager
def botkit_processes(
    args: list[list[str]], env: dict[str, str], workdir: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    botkit = str(Path(sys.executable).parent / "botkit")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for n, command in enumerate(args):
            with (workdir / f"botkit-{n}.log").open("wb") as out:
                procs.append(
                    subprocess.Popen(
                        [botkit, *command], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
                    )
                )
        yield procs
    finally:
        for proc in procs:
            stop(proc)


async def wait_http(url: str, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url) as response:
                    if response.status < 500:
                        return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in time")
            await asyncio.sleep(0.1)


async def used_memory(redis: Redis) -> int:
    with contextlib.suppress(Exception):
        await redis.execute_command("MEMORY", "PURGE")
    return int((await redis.info("memory"))["used_memory"])


async def queue_audience(redis_url: str, count: int) -> dict[str, float]:
    """Add the audience as ``botkit broadcast`` does; its rate and memory."""
    redis = Redis.from_url(redis_url)
    stores = build_stores(Settings(consent_pepper=PEPPER), NAMESPACE, redis)
    broadcasts = Broadcasts(stores.campaigns, stores.hasher)
    campaign = Campaign(
        id="bench",
        name="bench",
        content=Content(text="Hi {name}, our sale starts today."),
        messaging_service_sid=SERVICE,
    )
    audience = audience_of(numbers(count))
    before = await used_memory(redis)
    began = time.perf_counter()
    imported = await broadcasts.start(campaign, audience, paused=True)
    took = time.perf_counter() - began
    after = await used_memory(redis)
    await redis.aclose()
    if imported.added != count:
        raise RuntimeError(f"{imported.added} of {count} recipients added")
    return {"seconds": took, "rate": count / took, "bytes": (after - before) / count}


async def outbound_job_bytes(redis: Redis) -> float:
    """What one job in the outbound queue costs (the feeder keeps seconds of them in line)."""
    jobs = [k async for k in redis.scan_iter(match="{*}:out:echo:job:*", count=1000)]
    if not jobs:
        return 0.0
    sizes = [int(await redis.memory_usage(k) or 0) for k in jobs[:200]]
    idem = [k async for k in redis.scan_iter(match="{*}:out:echo:idem:*", count=1000)]
    idem_sizes = [int(await redis.memory_usage(k) or 0) for k in idem[:200]]
    return statistics.mean(sizes) + (statistics.mean(idem_sizes) if idem_sizes else 0)


async def converse(sandbox_url: str, until: float, every: float) -> list[tuple[str, float]]:
    """The phone writes to the service every ``every`` s: (body, when) of each message."""
    sent: list[tuple[str, float]] = []
    async with aiohttp.ClientSession() as http:
        n = 0
        while time.time() < until:
            body = f"ping {n}"
            at = time.time()
            async with http.post(
                f"{sandbox_url}/sandbox/phones/{PHONE}/messages",
                json={"to": POOL[0], "body": body},
            ) as response:
                response.raise_for_status()
            sent.append((body, at))
            n += 1
            await asyncio.sleep(every)
    return sent


async def sandbox_json(sandbox_url: str, path: str, **params: str) -> Any:
    # By hand, as botkit/twilio/client.py does: aiohttp deprecates BasicAuth.
    pair = f"{DEVELOPMENT_ACCOUNT_SID}:{DEVELOPMENT_AUTH_TOKEN}".encode("latin1")
    basic = "Basic " + base64.b64encode(pair).decode("ascii")
    async with (
        aiohttp.ClientSession(headers={"Authorization": basic}) as http,
        http.get(sandbox_url + path, params=params) as response,
    ):
        return await response.json()


async def replies(sandbox_url: str) -> dict[str, str]:
    """sid -> body of every message the bot sent the phone."""
    found: dict[str, str] = {}
    path = f"/2010-04-01/Accounts/{DEVELOPMENT_ACCOUNT_SID}/Messages.json"
    page = await sandbox_json(sandbox_url, path, To=PHONE, PageSize="1000")
    for message in page["messages"]:
        found[message["sid"]] = message["body"]
    return found


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def workdir_for(keep_logs: str | None) -> Path:
    """Where the processes write their logs: kept when asked for, a fresh temporary one else."""
    workdir = Path(keep_logs or tempfile.mkdtemp(prefix="bench-campaign-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def rate_limited_in_logs(workdir: Path) -> int:
    """How many times a botkit process logged Twilio's (the sandbox's) 429."""
    return sum(
        line.count('"sender rate limited by Twilio"')
        for path in workdir.glob("botkit-*.log")
        for line in path.read_text().splitlines()
    )


async def main(args: argparse.Namespace) -> None:
    workdir = workdir_for(args.keep_logs)
    bot_port = free_port()
    bot_url = f"http://127.0.0.1:{bot_port}"
    with running_redis() as redis_url, sandbox_process(workdir, bot_url) as sandbox_url:
        queueing = await queue_audience(redis_url, args.recipients)
        print(f"queued {args.recipients:,} recipients in {queueing['seconds']:.2f} s", flush=True)
        env = env_for(redis_url, sandbox_url, bot_url)
        commands = [["run", "bots.echo", "--port", str(bot_port), "--no-dispatch"]]
        commands += [["worker", "bots.echo"] for _ in range(args.workers)]
        with botkit_processes(commands, env, workdir):
            await wait_http(f"{bot_url}/healthz")
            await asyncio.sleep(2.0)  # the workers' imports
            redis = Redis.from_url(redis_url)
            stores = build_stores(Settings(consent_pepper=PEPPER), NAMESPACE, redis)
            await Broadcasts(stores.campaigns, stores.hasher).steer("bench", "sending")
            await asyncio.sleep(2.0)  # the feeder fills its window
            start = time.time()
            until = start + args.seconds
            sent = await converse(sandbox_url, until, 0.7)
            await asyncio.sleep(1.0)
            end = time.time()
            job_bytes = await outbound_job_bytes(redis)
            report = await stores.campaigns.report("bench")
            await redis.aclose()
            sends = (await sandbox_json(sandbox_url, "/sandbox/sends"))["sends"]
            bodies = await replies(sandbox_url)
    window = [s for s in sends if start <= s["at"] < until and s["sender"] == SERVICE]
    utilization = sum(s["units"] for s in window) / (RATE * (until - start))
    reply_at = {bodies[s["sid"]]: s["at"] for s in sends if s["sid"] in bodies}
    latencies = [
        reply_at[f"You said: {body}"] - at for body, at in sent if f"You said: {body}" in reply_at
    ]
    limited = rate_limited_in_logs(workdir)
    counts = report.counts if report else {}
    p50, p99 = (percentile(latencies, 50), percentile(latencies, 99)) if latencies else (0, 0)
    rows = [
        (
            "queueing rate",
            f"{queueing['rate']:,.0f} recipients/s",
            f">= {TARGET_RATE:,}",
            "yes" if queueing["rate"] >= TARGET_RATE else "NO",
        ),
        (
            "Redis memory per queued recipient",
            f"{queueing['bytes']:.0f} B",
            f"<= {TARGET_BYTES} B",
            "yes" if queueing["bytes"] <= TARGET_BYTES else "NO",
        ),
        ("outbound queue job (the feeder's window)", f"{job_bytes:.0f} B", "", ""),
        ("sender utilization", f"{utilization:.1%}", "", ""),
        ("429s from the sandbox", str(limited), "0", "yes" if limited == 0 else "NO"),
        ("reply latency p50", f"{p50 * 1000:.0f} ms", "", ""),
        (
            "reply latency p99",
            f"{p99 * 1000:.0f} ms",
            f"<= {TARGET_REPLY_P99 * 1000:.0f} ms",
            "yes" if latencies and p99 <= TARGET_REPLY_P99 else "NO",
        ),
        ("replies measured", f"{len(latencies)} of {len(sent)}", "", ""),
        ("campaign counts", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())), "", ""),
    ]
    print(
        f"\nbench/campaign.py: {args.recipients:,} recipients, {args.workers} worker "
        f"processes, {end - start:.0f} s of sending (logs in {workdir})\n"
    )
    print(table(("measure", "value", "target", "met"), rows))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-logs", help="a directory for the processes' logs")
    asyncio.run(main(parser.parse_args()))
