"""Making an erase reach Redis's persistence files, not only its memory.

Deleting a key removes it from memory, but the append-only file still holds every command that
wrote it (each inbound payload, each session save) until the AOF is rewritten, and the last RDB
snapshot holds it until the next one. So after ``botkit privacy erase`` botkit asks every
master to rewrite its AOF (BGREWRITEAOF: the new file holds only what is in memory now) and to
save a new snapshot (BGSAVE SCHEDULE: after the rewrite if one runs), each only where that kind
of persistence is on. That is the schedule: a rewrite after every erase (erases are rare; a
rewrite costs one fork). Replicas follow their master's data and rewrite on their own schedule
(their ``auto-aof-rewrite-percentage``); backups copied out of Redis are the operator's to
expire (docs/privacy.md).

A managed Redis may refuse CONFIG: then botkit cannot tell which persistence is on, asks for
both, and reports what was refused.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, ResponseError

from botkit.core.redis_client import RedisClient


async def _config(redis: RedisClient, name: str) -> str | None:
    """A config value as the (first) master reports it; None when CONFIG is refused."""
    try:
        found: Any = await redis.config_get(name)
    except ResponseError:
        return None
    value = found.get(name, found.get(name.encode(), "")) if isinstance(found, dict) else ""
    return value.decode() if isinstance(value, bytes) else str(value)


async def rewrite_persistence(redis: RedisClient) -> list[str]:
    """Rewrite the AOF and save a snapshot where each is on; what was asked, in words."""
    done = []
    target: dict[str, Any] = (
        {"target_nodes": RedisCluster.PRIMARIES} if isinstance(redis, RedisCluster) else {}
    )
    appendonly = await _config(redis, "appendonly")
    save = await _config(redis, "save")
    if appendonly != "no":
        try:
            await redis.bgrewriteaof(**target)
            done.append("AOF rewrite started (BGREWRITEAOF)")
        except RedisError as exc:
            done.append(f"AOF rewrite refused: {exc}")
    if save != "":
        try:
            await redis.bgsave(schedule=True, **target)
            done.append("RDB snapshot started (BGSAVE SCHEDULE)")
        except RedisError as exc:
            done.append(f"RDB snapshot refused: {exc}")
    if not done:
        done.append("Redis keeps no AOF and no RDB snapshot: nothing to rewrite")
    return done
