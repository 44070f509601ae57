"""The Redis clients botkit's stores run on: one server (or a master found through Sentinel,
which redis-py hands out as a plain client) or a Redis Cluster. The stores use only what both
offer; botkit/runtime/redis.py decides which one REDIS_URL names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

RedisClient = Redis | RedisCluster


class ReplicaTimeout(Exception):
    """A write did not reach the replicas it must reach in time: it may not survive a
    failover, so it must not be acknowledged (the webhook answers 503 and Twilio retries)."""


async def run_durably(
    client: RedisClient,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[str | int | float],
    replicas: int,
    within: float,
) -> Any:
    """Run ``script``, then, when ``replicas`` > 0, WAIT on the same connection until that many
    replicas have the write (Redis replicates asynchronously, and WAIT counts only the writes
    of the connection it runs on: hence one pipeline). Raises ReplicaTimeout when they have not
    within ``within`` seconds."""
    if replicas <= 0:
        return await script(keys=keys, args=args, client=client)
    wait_ms = max(1, int(within * 1000))
    pipe = client.pipeline(transaction=False)
    # A pipeline stands in for the client here: redis-py queues the script on it.
    await script(keys=keys, args=args, client=pipe)  # type: ignore[arg-type]
    if isinstance(client, RedisCluster):
        node = client.get_node_from_key(keys[0])
        pipe.execute_command("WAIT", replicas, wait_ms, target_nodes=node)
    else:
        pipe.execute_command("WAIT", replicas, wait_ms)
    try:
        result, acked = await pipe.execute()
    except NoScriptError:  # a cluster pipeline does not load scripts: load, then once more
        await client.script_load(script.script)
        return await run_durably(client, script, keys, args, replicas, within)
    if int(acked) < replicas:
        raise ReplicaTimeout(f"the write reached {acked} of {replicas} replicas in {within:g} s")
    return result


async def replicas_of(client: RedisClient) -> int:
    """How many replicas a write can wait for: the fewest any master has (0: none), as the
    masters report them now."""
    if isinstance(client, RedisCluster):
        counts = []
        for node in client.get_primaries():
            info = await client.info("replication", target_nodes=node)
            counts.append(int(info.get("connected_slaves", 0)))
        return min(counts, default=0)
    info = await client.info("replication")
    return int(info.get("connected_slaves", 0))
