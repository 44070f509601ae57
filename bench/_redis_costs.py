"""What one message costs in Redis: round trips and commands, and memory once it is handled.

Round trips are counted by bench/_redis_proxy.py between botkit (one process, REDIS_URL pointed
at the proxy) and Redis, while webhooks are sent one at a time, each only after the one before
it was handled: its inbound event finished and, for a bot that replies, the reply sent and
settled. That is the issue's method, and it is the dearest case: under load the workers' reads
are shared by many messages.

An idle botkit talks to Redis too (blocking reads that time out, the reclaim sweep), so the
proxy's counts are taken over a quiet stretch first, and that idle rate times the length of the
measured stretch is subtracted. Server-side commands (Redis's commandstats, which count the
commands Lua scripts run) are measured the same way, less the commands of the benchmark's own
polling, which goes through a second proxy to be counted.

The same count over a burst sent 32 at a time (``loaded_messages``) shows what a message costs
once the workers' batched reads, claims and settlements are shared, the amortised figure issue 16
counts the dispatcher's claim and settlement in.

Memory is INFO's used_memory before and after a batch of messages, each batch waited for until
every message is handled and every reply sent, divided by the messages.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from redis.asyncio import Redis

from bench._http import Connection
from bench._lab import Lab, Running, check_answers
from bench._redis_proxy import CountingProxy, Counts
from bench._systems import PEPPER
from botkit.runtime.stores import build_stores
from botkit.settings import Settings

#: Webhooks in flight at once in the loaded window: enough that workers read and claim batches.
LOADED_CONCURRENCY = 32


@dataclass
class Window:
    """What a stretch of time cost: through the bot's proxy, and in Redis's own count."""

    seconds: float = 0.0
    proxied: Counts = field(default_factory=Counts)
    server_commands: int = 0


@dataclass
class RedisCosts:
    bot: str
    messages: int
    idle: Window
    measured: Window
    handled_ms: list[float]  # from each POST until the message (and its reply) was done
    #: Counted only from each POST until it was done: without the idle rate subtracted, and
    #: without the work a message leaves behind (a worker's next read or claim).
    in_flight: Counts
    memory_messages: int = 0
    memory_before: int = 0
    memory_after: int = 0
    #: A burst sent many at a time (``loaded_messages``): what the workers' batched reads and
    #: the dispatcher's batched claims and settlements cost each message once they are shared.
    loaded_messages: int = 0
    loaded: Window = field(default_factory=Window)

    def _net(self, measured: float, idle: float) -> float:
        expected_idle = idle / self.idle.seconds * self.measured.seconds if self.idle.seconds else 0
        return (measured - expected_idle) / self.messages

    @property
    def round_trips(self) -> float:
        return self._net(self.measured.proxied.round_trips, self.idle.proxied.round_trips)

    @property
    def commands(self) -> float:
        return self._net(self.measured.proxied.commands, self.idle.proxied.commands)

    @property
    def server_commands(self) -> float:
        return self._net(self.measured.server_commands, self.idle.server_commands)

    @property
    def loaded_round_trips(self) -> float:
        if not self.loaded_messages:
            return float("nan")
        idle = self.idle.proxied.round_trips / self.idle.seconds if self.idle.seconds else 0.0
        net = self.loaded.proxied.round_trips - idle * self.loaded.seconds
        return net / self.loaded_messages

    @property
    def in_flight_round_trips(self) -> float:
        return self.in_flight.round_trips / self.messages

    @property
    def idle_round_trips_per_s(self) -> float:
        return self.idle.proxied.round_trips / self.idle.seconds if self.idle.seconds else 0.0

    @property
    def memory_per_message(self) -> float:
        if not self.memory_messages:
            return float("nan")
        return (self.memory_after - self.memory_before) / self.memory_messages


class _Meter:
    """Snapshots of the bot's proxy, Redis's commandstats, and the benchmark's own commands."""

    def __init__(self, bot_proxy: CountingProxy, poll_proxy: CountingProxy, poll: Redis) -> None:
        self.bot_proxy, self.poll_proxy, self.poll = bot_proxy, poll_proxy, poll

    async def _snapshot(self) -> tuple[float, Counts, int, Counts]:
        stats = await self.poll.info("commandstats")
        calls = sum(int(entry["calls"]) for entry in stats.values())
        return time.monotonic(), self.bot_proxy.counts, calls, self.poll_proxy.counts

    async def start(self) -> tuple[float, Counts, int, Counts]:
        return await self._snapshot()

    async def since(self, start: tuple[float, Counts, int, Counts]) -> Window:
        t0, bot0, calls0, poll0 = start
        poll1 = self.poll_proxy.counts
        t1, bot1, calls1, _ = await self._snapshot()
        # commandstats count a command once it has run: the snapshot's own INFO is in the
        # second count and not the first, and the polling in between is the benchmark's own.
        ours = 1 + (poll1 - poll0).commands
        return Window(t1 - t0, bot1 - bot0, calls1 - calls0 - ours)


async def measure(
    lab: Lab,
    bot: str,
    *,
    messages: int,
    idle_seconds: float,
    memory_messages: int,
    loaded_messages: int = 0,
) -> RedisCosts:
    upstream = urlsplit(lab.redis_url)
    host, port = upstream.hostname or "127.0.0.1", upstream.port or 6379
    bot_proxy, poll_proxy = CountingProxy(host, port), CountingProxy(host, port)
    bot_url, poll_url = await bot_proxy.start(), await poll_proxy.start()
    poll = Redis.from_url(poll_url)
    try:
        async with lab.started(bot, 1, redis_url=bot_url) as running:
            # The benchmark's own polling goes through a proxy too, to be told apart.
            running.stores = build_stores(Settings(consent_pepper=PEPPER), bot, poll)
            await running.warm_up()
            meter = _Meter(bot_proxy, poll_proxy, poll)
            start = await meter.start()
            await asyncio.sleep(idle_seconds)
            idle = await meter.since(start)
            start = await meter.start()
            handled, in_flight = await _one_at_a_time(running, messages, bot_proxy)
            costs = RedisCosts(bot, messages, idle, await meter.since(start), handled, in_flight)
            if loaded_messages:
                start = await meter.start()
                await running.send(running.maker.batch(loaded_messages), LOADED_CONCURRENCY)
                await running.drained()
                costs.loaded, costs.loaded_messages = await meter.since(start), loaded_messages
            if memory_messages:
                await _memory(running, memory_messages, costs)
            return costs
    finally:
        await poll.aclose()
        await bot_proxy.stop()
        await poll_proxy.stop()


async def _one_at_a_time(
    running: Running, count: int, proxy: CountingProxy
) -> tuple[list[float], Counts]:
    """Send count webhooks, each once the one before is done: how long each took from its POST
    until done, and the proxy's counts over those stretches alone."""
    connection = Connection("127.0.0.1", running.port)
    handled, in_flight = [], Counts()
    try:
        for request in running.maker.batch(count):
            sent, before = time.monotonic(), proxy.counts
            answer = await connection.exchange(request)
            check_answers(running.server.label, [answer], 1)
            await running.drained(stall=10)
            handled.append((time.monotonic() - sent) * 1e3)
            in_flight += proxy.counts - before
    finally:
        await connection.close()
    return handled, in_flight


async def _memory(running: Running, count: int, costs: RedisCosts) -> None:
    assert running.redis is not None
    await running.settle()
    costs.memory_before = int((await running.redis.info("memory"))["used_memory"])
    await running.send(running.maker.batch(count))
    await running.settle()
    costs.memory_after = int((await running.redis.info("memory"))["used_memory"])
    costs.memory_messages = count
