"""The Redis clients botkit's stores run on: one server (or a master found through Sentinel,
which redis-py hands out as a plain client) or a Redis Cluster. The stores use only what both
offer; botkit/runtime/redis.py decides which one REDIS_URL names."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

from botkit.core.script_call import ScriptCall

RedisClient = Redis | RedisCluster


class ReplicaTimeout(Exception):
    """A write did not reach the replicas it must reach in time: it may not survive a
    failover, so it must not be acknowledged (the webhook answers 503 and Twilio retries)."""


class Durability:
    """How many replicas a write must reach before it counts (Redis WAIT).

    ``fixed`` (BOTKIT_ACCEPT_REPLICAS) is what the operator asked, whatever the topology. By
    default a write waits for one replica when its master has one now: a write only on a master
    that dies is lost in a failover, but after a failover the promoted master has no replica
    until one is attached, and waiting for one then would refuse every write. What each master
    has is read with INFO replication, kept a few seconds, and read again at once after a
    write that could not reach a replica.
    """

    #: How long a master's replica count is trusted.
    FRESH = 2.0

    def __init__(self, client: RedisClient, fixed: int | None, within: float) -> None:
        self._client = client
        self.fixed = fixed
        self.within = within
        self._known: dict[str, tuple[int, float]] = {}

    async def replicas_for(self, key: str) -> int:
        if self.fixed is not None:
            return self.fixed
        node = self._node_of(key)
        known = self._known.get(node)
        if known is None or time.monotonic() - known[1] > self.FRESH:
            known = (min(1, await self._replicas_of(key)), time.monotonic())
            self._known[node] = known
        return known[0]

    def forget(self, key: str) -> None:
        self._known.pop(self._node_of(key), None)

    def _node_of(self, key: str) -> str:
        if isinstance(self._client, RedisCluster):
            node = self._client.get_node_from_key(key)
            return node.name if node is not None else "unknown"
        return "master"

    async def _replicas_of(self, key: str) -> int:
        if isinstance(self._client, RedisCluster):
            node = self._client.get_node_from_key(key)
            info = await self._client.info("replication", target_nodes=node)
        else:
            info = await self._client.info("replication")
        return int(info.get("connected_slaves", 0))


async def run_durably(
    client: RedisClient,
    script: AsyncScript,
    keys: Sequence[str],
    args: Sequence[str | int | float],
    durability: Durability | None,
) -> Any:
    """Run ``script``, then WAIT on the same connection until as many replicas as
    ``durability`` asks have the write (Redis replicates asynchronously, and WAIT counts only
    the writes of the connection it runs on: hence one pipeline). Raises ReplicaTimeout when
    they have not in time."""
    replicas = 0 if durability is None else await durability.replicas_for(keys[0])
    if replicas <= 0:
        return await script(keys=keys, args=args, client=client)
    assert durability is not None
    within = durability.within
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
        return await run_durably(client, script, keys, args, durability)
    if int(acked) < replicas:
        durability.forget(keys[0])  # perhaps the replica is gone (a failover): look again
        raise ReplicaTimeout(f"the write reached {acked} of {replicas} replicas in {within:g} s")
    return result


async def run_in_one_trip(
    client: Redis, calls: Sequence[ScriptCall], durability: Durability | None = None
) -> list[Any]:
    """Run ``calls`` in order in one pipeline on one server: one round trip instead of one
    each. Then WAIT, as ``run_durably`` does, for as many replicas as the first call's key
    must reach. Scripts the server does not have are loaded and the trip made again, which
    the calls must bear (each is idempotent or guarded by a proof). Raises the first call's
    error, or ReplicaTimeout. Not for a cluster: its pipelines split by node, in no order."""
    replicas = 0 if durability is None else await durability.replicas_for(calls[0].keys[0])
    for attempt in (1, 2):
        pipe = client.pipeline(transaction=False)
        for call in calls:
            pipe.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
        if replicas > 0:
            assert durability is not None
            pipe.execute_command("WAIT", replicas, max(1, int(durability.within * 1000)))
        answers = await pipe.execute(raise_on_error=False)
        missing = [c for c, a in zip(calls, answers, strict=False) if isinstance(a, NoScriptError)]
        if missing and attempt == 1:
            for call in missing:
                await client.script_load(call.script.script)
            continue
        failed = next((a for a in answers if isinstance(a, Exception)), None)
        if failed is not None:
            raise failed
        if replicas > 0 and int(answers[-1]) < replicas:
            assert durability is not None
            durability.forget(calls[0].keys[0])
            raise ReplicaTimeout(
                f"the write reached {answers[-1]} of {replicas} replicas in {durability.within:g} s"
            )
        results = list(answers[: len(calls)])
        for call, result in zip(calls, results, strict=True):
            if call.done is not None:
                call.done(result)
        return results
    raise AssertionError("unreachable: the second attempt returns or raises")
