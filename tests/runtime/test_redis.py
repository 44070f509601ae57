"""What REDIS_URL names, against real servers: a cluster found from any node's URL, a master
found through its sentinels, one line when nothing answers, and a write that must reach a
replica before its 200."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from botkit import Bot, Context
from botkit.core.redis_client import Durability
from botkit.errors import ConfigError
from botkit.runtime.redis import connect
from botkit.runtime.stores import open_stores
from botkit.settings import Settings
from tests.conftest import StartServer
from tests.support.redis_cluster import Topology, running_sentinels
from tests.support.redis_server import free_port
from tests.support.webhooks import inbound_params

PEPPER = "redis-topology-pepper-0123"


@pytest.fixture
def sentinels() -> Iterator[Topology]:
    with running_sentinels() as topology:
        yield topology


async def test_any_cluster_nodes_url_is_taken_as_a_seed(clean_cluster: str) -> None:
    client = await connect(Settings(redis_url=clean_cluster))
    try:
        assert isinstance(client, RedisCluster)
        assert len(client.get_primaries()) == 3
        durable = Durability(client, None, 0.5)
        assert await durable.replicas_for("{botkit:inbound:bot}:stream") == 1  # it has one
    finally:
        await client.aclose()


async def test_one_server_is_plain_redis_and_waits_for_no_replica(clean_redis: str) -> None:
    client = await connect(Settings(redis_url=clean_redis))
    try:
        assert isinstance(client, Redis)
        assert await Durability(client, None, 0.5).replicas_for("any") == 0
        assert await Durability(client, 2, 0.5).replicas_for("any") == 2  # as told
    finally:
        await client.aclose()


async def test_the_master_is_found_through_its_sentinels(sentinels: Topology) -> None:
    stores = await open_stores(Settings(redis_url=sentinels.url, consent_pepper=PEPPER), "bot")
    try:
        assert isinstance(stores.redis, Redis)
        assert (await stores.redis.info("replication"))["role"] == "master"
        assert await stores.inbound.accept("SM1", "hello", 60, session_key="k")
    finally:
        await stores.close()


async def test_nothing_answering_is_one_line_naming_redis_url() -> None:
    for url in (
        f"redis://127.0.0.1:{free_port()}/0",
        f"redis+sentinel://127.0.0.1:{free_port()}/mymaster",
    ):
        with pytest.raises(ConfigError) as refused:
            await connect(Settings(redis_url=url))
        assert str(refused.value).startswith("REDIS_URL: cannot reach Redis (")
        assert "\n" not in str(refused.value)


def ping_bot() -> Bot:
    bot = Bot("durable")

    @bot.fallback
    async def answer(ctx: Context) -> None:
        await ctx.reply("pong")

    return bot


async def test_a_webhook_whose_write_reaches_no_replica_gets_503_then_200(
    start_server: StartServer, sentinels: Topology
) -> None:
    """Redis replicates asynchronously: a 200 for a write only the master has would be lost
    with the master. With the replica stopped, the acceptance cannot be made safe: 503, and
    Twilio's retry of the same webhook is accepted once the replica is back."""
    server = await start_server(
        ping_bot(), redis_url=sentinels.url, accept_replica_timeout=0.3, workers=False
    )
    replica = next(
        port
        for port, _ in sentinels.servers.items()
        if "role:slave" in _safe_info(sentinels, port)
    )
    params = inbound_params("hello")
    sentinels.servers[replica].send_signal(signal.SIGSTOP)
    try:
        refused = await server.post(params)
        assert refused.status == 503
    finally:
        sentinels.servers[replica].send_signal(signal.SIGCONT)
    await asyncio.sleep(0.5)  # the replica catches up
    accepted = await server.post(params)
    assert accepted.status == 200
    assert await server.runtime.stores.inbound.backlog() == 1  # once, whatever the first try did


def _safe_info(topology: Topology, port: int) -> str:
    try:
        return topology.cli(port, "info", "replication")
    except Exception:
        return ""
