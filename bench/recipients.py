"""What the outbound queue keeps per recipient once a send to many people is done (issue 18).

Run from the repository root: ``python bench/recipients.py`` (about a minute on 2 cores;
``--recipients N`` for another count). It starts its own Redis, queues one message to each of
100,000 distinct recipients from one sender, drains the queue (claims and completions, as the
outbound workers make them, with no rate in reach), and prints Redis's ``used_memory``:

- before the run (after a warm-up that loads the scripts and the sender's own state);
- with every job queued;
- once the queue has drained, while the sent jobs are still kept for their retention;
- once that retention (and the idempotency keys') has passed: what is left for good. The issue
  asks for this to be within 5% of before; the run exits 1 if it is not.

The retentions of sent jobs and idempotency keys (a day and a week in production) are set to
one second here, so that the last figure comes within the run: they are per-message records
with a lifetime, not per-recipient state. For comparison it then builds the ``vt`` hash the
claim script used to leave behind, one field per recipient, and prints what it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.outbound.job import JobFactory
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.queue.redis import RedisOutboundQueue
from tests.support.redis_server import running_redis

SENDER = "+15550100001"
PEPPER = "bench-recipients-pepper-0123"
#: Jobs claimed per round trip of the run.
BATCH = 1000
#: Enqueues in flight at once.
CONCURRENCY = 100
#: Sent jobs and idempotency keys are kept this long here (seconds).
RETENTION = 1.0
#: The most the memory after the run may exceed the memory before it.
TOLERANCE = 0.05


@dataclass
class Figures:
    recipients: int
    before: int
    queued: int
    drained: int
    after: int
    fields_left: int
    old_hash: int

    @property
    def growth(self) -> float:
        return (self.after - self.before) / self.before

    def lines(self) -> list[str]:
        mb = 1024 * 1024
        return [
            f"recipients: {self.recipients:,} (one message each, one sender)",
            f"used_memory before:                       {self.before / mb:8.2f} MB",
            f"  every job queued:                       {self.queued / mb:8.2f} MB",
            f"  queue drained, sent jobs still kept:    {self.drained / mb:8.2f} MB",
            f"  after their retention ({RETENTION:.0f} s here):       {self.after / mb:8.2f} MB"
            f"  ({self.growth:+.2%} of before; at most {TOLERANCE:.0%})",
            f"per-recipient fields left in out:vt:*:    {self.fields_left}",
            f"for comparison, the vt hash of {self.recipients:,} numbers the claim script used "
            f"to leave: {self.old_hash / mb:.2f} MB ({self.old_hash / self.before:+.0%} of before)",
        ]


async def used_memory(redis: Redis) -> int:
    """After every key past its expiry is gone (a full SCAN deletes the expired keys it meets;
    active expiry would take its time), and with only one connection open: the run's other
    connections' buffers are Redis memory too, but not the queue's; nor is the slow log, which
    keeps the arguments of the last 128 slow commands (a claim of a thousand jobs is one)."""
    await redis.connection_pool.disconnect()
    await redis.slowlog_reset()
    async for _ in redis.scan_iter(count=10_000):
        pass
    info = await redis.info("memory")
    return int(info["used_memory"])


async def send_to_all(queue: RedisOutboundQueue, factory: JobFactory, numbers: list[str]) -> None:
    for start in range(0, len(numbers), CONCURRENCY):
        jobs = [
            factory.build(
                OutboundMessage(
                    to=to,
                    body="Your order has shipped.",
                    from_=SENDER,
                    idempotency_key=f"bench:{to}",
                ),
                lane="bulk",
            )
            for to in numbers[start : start + CONCURRENCY]
        ]
        await asyncio.gather(*(queue.enqueue(job) for job in jobs))


async def drain(queue: RedisOutboundQueue) -> None:
    while await queue.pending():
        batch = await queue.claim_many(30, BATCH, lookahead_us=10**12)
        await queue.complete_many([(claim, f"SM{claim.job.id}") for claim in batch.claims])


async def measure(redis_url: str, recipients: int) -> Figures:
    # One more connection than enqueues at once: a claim subscribes to the queue's wake channels.
    redis = Redis.from_url(redis_url, max_connections=CONCURRENCY + 1)
    queue: RedisOutboundQueue | None = None
    try:
        factory = JobFactory(RateTable(senders={SENDER: 1_000_000}), NumberHasher(PEPPER))
        queue = RedisOutboundQueue(
            redis, "bench", finished_ttl=RETENTION, idempotency_ttl=RETENTION
        )
        # Warm-up: the scripts loaded, the sender's rate and clock written.
        await send_to_all(queue, factory, [f"+1555020{n:04}" for n in range(100)])
        await drain(queue)
        await asyncio.sleep(RETENTION + 1)
        before = await used_memory(redis)

        numbers = [f"+1{5550000000 + n * 7:010d}" for n in range(recipients)]
        await send_to_all(queue, factory, numbers)
        queued = await used_memory(redis)
        await drain(queue)
        drained = await used_memory(redis)
        await asyncio.sleep(RETENTION + 1)
        after = await used_memory(redis)
        fields_left = 0
        async for key in redis.scan_iter(match="*:out:bench:vt:*"):
            fields_left += int(await redis.hlen(key))

        # What the claim script left before issue 18: one field per recipient, for good.
        old = "{botkit:consent}:out:bench:old-vt:" + SENDER
        for start in range(0, len(numbers), BATCH):
            chunk = numbers[start : start + BATCH]
            await redis.hset(old, mapping={number: i for i, number in enumerate(chunk)})
        old_hash = await used_memory(redis) - after
        await redis.delete(old)
        return Figures(recipients, before, queued, drained, after, fields_left, old_hash)
    finally:
        if queue is not None:
            await queue.close()
        await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with running_redis() as url:
        figures = asyncio.run(measure(url, args.recipients))
    for line in figures.lines():
        print(line)
    print(f"({time.monotonic() - started:.0f} s)")
    within = figures.growth <= TOLERANCE and figures.fields_left == 0
    print("OK: nothing per recipient is left" if within else "FAILED: state was left behind")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
