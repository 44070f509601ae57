"""Waking workers through pub/sub: which shards a worker asks, and a listener whose server died."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from botkit.core.wake import ShardWakes, WakeListener
from tests.support.redis_server import free_port, start_redis, stop_redis

CHANNELS = [f"{{t:{n}}}:wake" for n in range(4)]


@pytest.fixture
async def redis(clean_redis: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(clean_redis)
    yield client
    await client.aclose()


async def test_a_worker_asks_only_the_shards_that_may_have_work(redis: Redis) -> None:
    wakes = ShardWakes(redis, CHANNELS, sweep=60)
    try:
        assert sorted(await wakes.due()) == [0, 1, 2, 3]  # nothing known yet: every shard
        for shard in range(4):
            wakes.found(shard, None)  # each was empty
        assert await wakes.due() == []
        await redis.publish(CHANNELS[2], "1")
        await asyncio.sleep(0.05)
        assert await wakes.due() == [2]
        wakes.found(2, 0.0)  # it had more than was taken
        wakes.found(1, 0.2)  # its next work falls due in 0.2 s
        assert await wakes.due() == [2]
        assert sorted(await wakes.due(within=0.5)) == [1, 2]
    finally:
        await wakes.close()


async def test_every_shard_is_asked_once_a_sweep_has_passed(redis: Redis) -> None:
    # A signal can be lost, and work can fall due without one (a lapsed lease).
    wakes = ShardWakes(redis, CHANNELS, sweep=0.1)
    try:
        await wakes.due()
        for shard in range(4):
            wakes.found(shard, None)
        assert await wakes.due() == []
        await asyncio.sleep(0.15)
        assert sorted(await wakes.due()) == [0, 1, 2, 3]
    finally:
        await wakes.close()


async def test_a_listener_whose_server_died_hears_everything_and_recovers() -> None:
    # On a cluster, the subscription lives on the node its first channel hashes to; when that
    # node dies, the listener must not fail the worker's every take, nor go deaf for good.
    port = free_port()
    server = start_redis(port)
    client = Redis(port=port, retry=Retry(NoBackoff(), 1))  # redis-py's own retries: short
    listener = WakeListener(client, CHANNELS)
    try:
        assert await listener.listen()
        assert await listener.drain() == set()
        stop_redis(server, crash=True)
        async with asyncio.timeout(1):  # the loss is noticed at once, not after 5 s
            assert await listener.wait(5) == CHANNELS[0]
        assert not listener.hearing
        assert await listener.drain() == set(CHANNELS)  # deaf: any channel may have signalled
        async with asyncio.timeout(1):
            assert await listener.wait(5) == CHANNELS[0]  # a short pause, then look anyway
        server = start_redis(port)
        assert await listener.listen()
        publisher = Redis(port=port)
        await publisher.publish(CHANNELS[3], "1")
        await publisher.aclose()
        assert await listener.wait(5) == CHANNELS[3]
    finally:
        await listener.close()
        await client.aclose()
        stop_redis(server)


async def test_loops_of_one_process_share_a_listener(redis: Redis) -> None:
    # Several claim loops of one process use one queue, so one listener: one reads at a time
    # (redis-py refuses a second reader on a connection), and none fails for it.
    listener = WakeListener(redis, CHANNELS)
    try:
        assert await listener.listen()
        first = asyncio.create_task(listener.wait(2))
        second = asyncio.create_task(listener.wait(2))
        await asyncio.sleep(0.05)
        assert await listener.drain() == set()  # another loop is reading: no error
        await redis.publish(CHANNELS[1], "1")
        await redis.publish(CHANNELS[2], "1")
        assert sorted(await asyncio.gather(first, second)) == [CHANNELS[1], CHANNELS[2]]
    finally:
        await listener.close()
