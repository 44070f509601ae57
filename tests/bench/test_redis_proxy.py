"""The counting proxy of bench/inbound.py, through a real redis-server and redis-py: what it
counts is what issue 16's Redis targets are judged by."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from bench._redis_proxy import CountingProxy, Counts, RespValues


@pytest.fixture
async def proxy(clean_redis: str) -> AsyncIterator[CountingProxy]:
    upstream = urlsplit(clean_redis)
    counting = CountingProxy(upstream.hostname or "127.0.0.1", upstream.port or 6379)
    yield counting
    await counting.stop()


@pytest.fixture
async def client(proxy: CountingProxy) -> AsyncIterator[Redis]:
    redis = Redis.from_url(await proxy.start())
    await redis.ping()  # the connection (and its handshake) before anything is measured
    yield redis
    await redis.aclose()


async def test_sequential_commands_are_one_round_trip_each(
    proxy: CountingProxy, client: Redis
) -> None:
    before = proxy.counts
    for n in range(5):
        await client.set(f"key:{n}", "x" * 100_000)  # a payload larger than one socket read
    assert proxy.counts - before == Counts(round_trips=5, commands=5)


async def test_a_pipeline_is_one_round_trip(proxy: CountingProxy, client: Redis) -> None:
    before = proxy.counts
    async with client.pipeline(transaction=False) as pipe:
        for n in range(20):
            pipe.incr(f"counter:{n}")
        await pipe.execute()
    assert proxy.counts - before == Counts(round_trips=1, commands=20)


async def test_a_transaction_is_one_round_trip(proxy: CountingProxy, client: Redis) -> None:
    before = proxy.counts
    async with client.pipeline(transaction=True) as pipe:
        pipe.set("a", "1").set("b", "2").mget("a", "b", "nothing")
        await pipe.execute()
    # MULTI, the three commands, EXEC.
    assert proxy.counts - before == Counts(round_trips=1, commands=5)


async def test_a_script_is_one_round_trip(proxy: CountingProxy, client: Redis) -> None:
    script = client.register_script("return {redis.call('INCR', KEYS[1]), ARGV[1]}")
    await script(keys=["k"], args=["warm"])  # loads the script (EVALSHA fails, EVAL follows)
    before = proxy.counts
    for _ in range(3):
        await script(keys=["k"], args=["v"])
    assert proxy.counts - before == Counts(round_trips=3, commands=3)


async def test_a_blocking_read_counts_once_when_answered(
    proxy: CountingProxy, client: Redis
) -> None:
    before = proxy.counts
    assert await client.blpop(["empty"], timeout=0.05) is None
    assert proxy.counts - before == Counts(round_trips=1, commands=1)


def test_resp_values_fed_byte_by_byte() -> None:
    stream = (
        b"*2\r\n$3\r\nGET\r\n$5\r\na\r\nbc\r\n" + b"%1\r\n+k\r\n*-1\r\n" + b">2\r\n+x\r\n:1\r\n"
    )
    values = RespValues()
    counted = [values.feed(stream[i : i + 1]) for i in range(len(stream))]
    # A bulk string holding CRLF, a RESP3 map, and a push message (which answers nothing).
    assert sum(counted) == 2
