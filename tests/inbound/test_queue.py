"""The InboundQueue contract (dedup, at-least-once, reclaim), for memory and Redis alike."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from botkit.inbound.queue.memory import MemoryInboundQueue
from botkit.inbound.queue.protocol import InboundQueue
from botkit.inbound.queue.redis import RedisInboundQueue


@pytest.fixture
async def queue(store_url: str | None) -> AsyncIterator[InboundQueue]:
    if store_url is None:
        yield MemoryInboundQueue()
        return
    redis = Redis.from_url(store_url)
    redis_queue = RedisInboundQueue(redis, "test")
    await redis_queue.prepare()
    yield redis_queue
    await redis.aclose()


async def test_a_sid_is_accepted_once(queue: InboundQueue) -> None:
    assert await queue.accept("SM1", "one", dedup_ttl=60)
    assert not await queue.accept("SM1", "one again", dedup_ttl=60)
    assert await queue.backlog() == 1
    taken = await queue.take("c1", 10, wait=0.1)
    assert [d.payload for d in taken] == ["one"]


async def test_dedup_expires(queue: InboundQueue) -> None:
    assert await queue.accept("SM1", "one", dedup_ttl=0.05)


    await asyncio.sleep(0.1)
    assert await queue.accept("SM1", "one", dedup_ttl=60)


async def test_taken_events_stay_in_backlog_until_finished(queue: InboundQueue) -> None:
    for n in range(3):
        await queue.accept(f"SM{n}", f"p{n}", dedup_ttl=60)
    taken = await queue.take("c1", 2, wait=0.1)
    assert [d.payload for d in taken] == ["p0", "p1"]
    assert await queue.backlog() == 3
    await queue.finish(taken[0])
    assert await queue.backlog() == 2
    assert [d.payload for d in await queue.take("c1", 5, wait=0.1)] == ["p2"]


async def test_take_waits_then_returns_nothing(queue: InboundQueue) -> None:
    assert await queue.take("c1", 1, wait=0.05) == []


async def test_unfinished_events_are_reclaimed_by_another_consumer(queue: InboundQueue) -> None:
    await queue.accept("SM1", "crashy", dedup_ttl=60)
    [taken] = await queue.take("dead-worker", 1, wait=0.1)
    assert await queue.reclaim("survivor", idle=10, count=10) == []  # not idle long enough


    await asyncio.sleep(0.1)
    reclaimed = await queue.reclaim("survivor", idle=0.05, count=10)
    assert [(d.id, d.payload) for d in reclaimed] == [(taken.id, "crashy")]
    await queue.finish(reclaimed[0])
    assert await queue.backlog() == 0


async def test_touch_keeps_a_slow_event_from_being_reclaimed(queue: InboundQueue) -> None:


    await queue.accept("SM1", "slow", dedup_ttl=60)
    [taken] = await queue.take("worker", 1, wait=0.1)
    for _ in range(3):
        await asyncio.sleep(0.05)
        await queue.touch("worker", taken)
    assert await queue.reclaim("other", idle=0.1, count=10) == []
