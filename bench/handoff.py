"""Assignment latency of the handoff (issue 19): from an agent freeing up to the next customer
connected, with 1,000 customers waiting.

The bot runs through botkit.testing (the sandbox plays Twilio, the handoff store is a Redis this
script starts, or memory with ``--memory``). Agents start away; the queue is filled with
``--agents`` + ``--queued`` real handoffs (each a Conversation with the customer's phone bound
in it); each agent then becomes available and takes one, leaving ``--queued`` waiting.

A cycle is what an agent's ``/close`` does: the conversation is released, and in the same Lua
step the agent takes the longest-waiting customer; then the closed conversation is told and
closed, the agent is added to the next one and "You are now chatting with ..." is posted. The
latency runs from the close to that text reaching the next customer's phone. It is measured
one agent at a time, then with every agent closing at once (contention on the one queue), and
the store's step alone (the script, with 1,000 waiting) is timed apart.

Usage: ``python bench/handoff.py [--queued 1000] [--agents 10] [--cycles 200] [--memory]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # tests.support, when run as bench/handoff.py

from turns import quiet_logs  # noqa: E402

from botkit import Agent, AgentPool, Bot  # noqa: E402
from botkit.handoff.service import Handoff  # noqa: E402
from botkit.testing import Tester  # noqa: E402
from botkit.testing.tester import BOT_NUMBER  # noqa: E402
from botkit.twilio.inbound import parse_inbound_message  # noqa: E402
from tests.support.webhooks import inbound_params  # noqa: E402

#: Handoffs started at once while the queue is filled.
FILL_CONCURRENCY = 25


def team(agents: int) -> Bot:
    pool = AgentPool([Agent(f"agent-{n}") for n in range(agents)], presence="away")
    return Bot("bench-handoff", agents=pool)


def customer(n: int) -> str:
    return f"+1555{n:07d}"


async def fill(handoff: Handoff, count: int) -> None:
    """``count`` customers hand off, oldest first in line."""
    slots = asyncio.Semaphore(FILL_CONCURRENCY)

    async def one(n: int) -> None:
        async with slots:
            message = parse_inbound_message(
                inbound_params("agent", From=customer(n), To=BOT_NUMBER)
            )
            await handoff.from_direct(message, {}, None)

    for start in range(0, count, 200):  # in order, so the line is roughly by number
        await asyncio.gather(*(one(n) for n in range(start, min(count, start + 200))))


class Timed:
    """Wraps the store's release step (release + the freed agent taking the next in line)."""

    def __init__(self, handoff: Handoff) -> None:
        self.samples: list[float] = []
        original = handoff.store.release

        async def release(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                self.samples.append(time.perf_counter() - started)

        handoff.store.release = release  # type: ignore[method-assign]


class Arrivals:
    """When each customer's phone was first told an agent is with them (the sandbox's own
    event, timed as it happens)."""

    def __init__(self, tester: Tester) -> None:
        self._bus = tester.sandbox.state.bus
        self.at: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Arrivals:
        ready = asyncio.Event()
        self._task = asyncio.create_task(self._listen(ready))
        await ready.wait()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _listen(self, ready: asyncio.Event) -> None:
        async with self._bus.subscribe() as queue:
            ready.set()
            while True:
                event = await queue.get()
                data = event.get("data") or {}
                body = str(data.get("body") or "")
                if event["type"] == "message" and body.startswith("You are now chatting with"):
                    self.at.setdefault(str(data.get("to")), time.perf_counter())
                    self._wake.set()

    async def of(self, address: str) -> float:
        async with asyncio.timeout(30):
            while address not in self.at:
                self._wake.clear()
                await self._wake.wait()
        return self.at[address]


async def cycle(handoff: Handoff, arrivals: Arrivals, agent: str) -> float:
    """The agent closes its conversation; seconds until the next customer's phone gets the
    text that the agent is with them."""
    (held,) = await handoff.store.holding(agent)
    started = time.perf_counter()
    await handoff.close(held.conversation_sid)
    (taken,) = await handoff.store.holding(agent)
    assert taken.customer is not None
    return await arrivals.of(taken.customer) - started


def percentiles(samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):7.1f} ms   p99 {p99:7.1f} ms   (n={len(ms)})"


async def run(queued: int, agents: int, cycles: int, redis_url: str | None) -> None:
    async with Tester(team(agents), redis_url=redis_url, within=30.0) as tester:
        handoff = tester.runtime.conversations.handoff
        started = time.perf_counter()
        await fill(handoff, agents + queued)
        for n in range(agents):
            await handoff.set_presence(f"agent-{n}", "available")
        await tester.settle(60.0)
        waiting = len(await handoff.store.waiting("general"))
        print(
            f"queue filled: {waiting} waiting, {agents} agents busy "
            f"({time.perf_counter() - started:.1f} s)",
            flush=True,
        )

        timed = Timed(handoff)
        one: list[float] = []
        together: list[float] = []
        async with Arrivals(tester) as arrivals:
            for _ in range(cycles // 2):
                one.append(await cycle(handoff, arrivals, "agent-0"))
            for _ in range(max(1, (cycles - cycles // 2) // agents)):
                together += await asyncio.gather(
                    *(cycle(handoff, arrivals, f"agent-{n}") for n in range(agents))
                )
        left = len(await handoff.store.waiting("general"))
        print(f"after the cycles: {left} waiting", flush=True)
        print(f"close -> next connected, one agent:      {percentiles(one)}")
        print(f"close -> next connected, {agents} agents at once: {percentiles(together)}")
        print(f"store step (release + take next), alone: {percentiles(timed.samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queued", type=int, default=1000, help="customers left waiting")
    parser.add_argument("--agents", type=int, default=10, help="agents, capacity 1 each")
    parser.add_argument("--cycles", type=int, default=200, help="closes measured")
    parser.add_argument("--memory", action="store_true", help="memory stores, not Redis")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url: str | None = None
        if not args.memory:
            from tests.support.redis_server import running_redis

            url = stack.enter_context(running_redis())
        stack.enter_context(quiet_logs())
        print(f"store: {'memory' if url is None else 'Redis'}", flush=True)
        job: Callable[[], Awaitable[None]] = lambda: run(  # noqa: E731
            args.queued, args.agents, args.cycles, url
        )
        asyncio.run(job())


if __name__ == "__main__":
    main()
