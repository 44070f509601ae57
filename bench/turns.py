"""Scripted turns per second through botkit.testing (issue 6: at least 200).

A turn is ``await phone.send(...)`` then ``await phone.expect_reply(...)``, through the whole
real pipeline: the sandbox posts a signed webhook, the bot's aiohttp server checks it and
queues it, an inbound worker loads the session, routes, runs the handler and saves the session,
the reply goes through the outbound worker and the Twilio SDK back to the sandbox, and the phone is
woken by the sandbox's event. The bot counts visits in its session, so every turn reads and
writes it.

Baseline, in the same run: the same three HTTP hops with no botkit in between (the phone texts
through the sandbox, a bare aiohttp handler answers with one SDK create before its 200, the
phone waits on the same event), so the figure can be read as "what the pipeline costs on top
of the transport".

Usage: ``python bench/turns.py [--turns 2000] [--phones 1 4] [--redis]``. Prints one line per
run: turns per second (wall clock) and this process's CPU per turn. Everything runs in this
one process, on one event loop, as a test does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import structlog
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support.redis_server, when run as bench/turns.py

from botkit import Bot, Context  # noqa: E402
from botkit.testing import Tester  # noqa: E402
from botkit.testing.hub import EventHub  # noqa: E402
from botkit.testing.phone import TestPhone  # noqa: E402
from botkit.testing.sandbox_client import SandboxClient  # noqa: E402
from botkit.testing.tester import ACCOUNT_SID, AUTH_TOKEN, BOT_NUMBER  # noqa: E402
from botkit.twilio.client import create_async_client  # noqa: E402

WARMUP = 50
Turn = Callable[[int], Awaitable[None]]


def counting_bot() -> Bot:
    bot = Bot("bench")

    @bot.fallback
    async def count(ctx: Context) -> None:
        ctx.session["n"] = ctx.session.get("n", 0) + 1
        await ctx.reply(f"{ctx.message.body} #{ctx.session['n']}")

    return bot


async def measure(turns: list[Turn], per_phone: int) -> tuple[float, float]:
    """Run each phone's script concurrently; (turns per second, CPU ms per turn)."""
    for turn in turns:  # connections open, code paths warm
        for index in range(WARMUP):
            await turn(-1 - index)
    cpu, start = time.process_time(), time.perf_counter()

    async def script(turn: Turn) -> None:
        for index in range(per_phone):
            await turn(index)

    await asyncio.gather(*(script(turn) for turn in turns))
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    total = per_phone * len(turns)
    return total / wall, used / total * 1000


def phone_turn(phone: TestPhone) -> Turn:
    async def turn(index: int) -> None:
        await phone.send(f"m{index}")
        await phone.expect_reply(contains=f"m{index} #")

    return turn


async def botkit_run(phones: int, per_phone: int, redis_url: str | None) -> tuple[float, float]:
    async with Tester(counting_bot(), redis_url=redis_url, within=10.0) as tester:
        turns = [phone_turn(tester.phone(f"+1555010{n:04d}")) for n in range(phones)]
        return await measure(turns, per_phone)


async def baseline_run(phones: int, per_phone: int) -> tuple[float, float]:
    """The transport alone: sandbox -> bare webhook handler -> one SDK create -> sandbox."""
    tester = Tester(counting_bot())  # only for its sandbox configuration; the bot is not run
    sandbox = tester.sandbox
    await sandbox.start()
    hub = EventHub(sandbox.state.bus)
    await hub.start()
    sdk = create_async_client(ACCOUNT_SID, AUTH_TOKEN, sandbox.url)

    async def answer(request: web.Request) -> web.Response:
        form = await request.post()
        await sdk.messages.create_async(
            to=str(form["From"]), from_=str(form["To"]), body=f"{form['Body']} #1"
        )
        return web.Response(text="<Response/>", content_type="text/xml")

    app = web.Application()
    app.router.add_post("/twilio/messages", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sandbox.own_number(BOT_NUMBER, f"http://127.0.0.1:{port}/twilio/messages")
    client = SandboxClient(sandbox.url, ACCOUNT_SID, AUTH_TOKEN)

    class Stage:  # what TestPhone needs; the bot side is not involved
        def __init__(self) -> None:
            self.hub, self.sandbox, self.client = hub, sandbox, client
            self.bot_number, self.default_timeout = BOT_NUMBER, 10.0

        async def settle(self, within: float) -> bool:
            return True

        async def diagnosis(self) -> str:
            return ""

    try:
        stage = Stage()
        turns = [phone_turn(TestPhone(stage, f"+1555010{n:04d}")) for n in range(phones)]
        return await measure(turns, per_phone)
    finally:
        await client.close()
        await sdk.http_client.close()
        await runner.cleanup()
        await hub.stop()
        await sandbox.stop()


@contextlib.contextmanager
def quiet_logs() -> Iterator[None]:
    """Log as a test run does (every line formatted and written), to a sink instead of a tty."""
    saved = structlog.get_config()
    with open(os.devnull, "w") as sink:
        structlog.configure(
            logger_factory=structlog.PrintLoggerFactory(sink),
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        )
        try:
            yield
        finally:
            structlog.configure(**saved)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=2000, help="turns per run (all phones)")
    parser.add_argument("--phones", type=int, nargs="+", default=[1, 4], help="phones at once")
    parser.add_argument("--redis", action="store_true", help="also run on a local Redis")
    args = parser.parse_args()

    runs: list[tuple[str, int, Callable[[int, int], Awaitable[tuple[float, float]]]]] = []
    for phones in args.phones:
        runs.append(("baseline (transport only)", phones, baseline_run))
        runs.append(("botkit.testing, memory", phones, lambda p, n: botkit_run(p, n, None)))
    with contextlib.ExitStack() as stack:
        if args.redis:
            from tests.support.redis_server import running_redis

            url = stack.enter_context(running_redis())
            for phones in args.phones:
                runs.append(
                    ("botkit.testing, Redis", phones, lambda p, n, u=url: botkit_run(p, n, u))
                )
        stack.enter_context(quiet_logs())
        print(f"{'run':<28} {'phones':>6} {'turns/s':>9} {'CPU/turn':>10}", flush=True)
        for label, phones, run in runs:
            per_phone = max(1, args.turns // phones)
            rate, cpu_ms = asyncio.run(run(phones, per_phone))
            print(f"{label:<28} {phones:>6} {rate:>9.0f} {cpu_ms:>8.2f}ms", flush=True)


if __name__ == "__main__":
    main()
