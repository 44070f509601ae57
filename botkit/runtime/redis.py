"""Connecting to what REDIS_URL names, with redis-py's own clients: ``Redis`` for one server,
``RedisCluster`` for a cluster, and ``Sentinel(...).master_for(...)`` for a master behind
Sentinel (a client that finds the new master after a failover by itself).

A plain URL is asked ``INFO cluster``: a server that answers ``cluster_enabled:1`` is a seed of
its cluster, so the URL of any node works as it is (BOTKIT_REDIS_MODE forces either answer).
Every failure to connect is one line naming REDIS_URL.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from botkit.core.redis_client import RedisClient
from botkit.core.redis_url import RedisTarget
from botkit.errors import ConfigError
from botkit.settings import Settings

#: Sends, claims and sessions run concurrently: allow a pool well above their sum.
MAX_CONNECTIONS = 1024
CONNECT_TIMEOUT = 3.0


async def connect(settings: Settings) -> RedisClient:
    """A client for REDIS_URL, checked reachable now. Call only with REDIS_URL set."""
    target = settings.redis_target()
    if target is None:
        raise ConfigError("REDIS_URL: not set")
    try:
        return await _connect(target)
    except (RedisError, OSError) as exc:
        raise ConfigError(f"REDIS_URL: cannot reach Redis ({exc or type(exc).__name__})") from None


async def _connect(target: RedisTarget) -> RedisClient:
    common: dict[str, Any] = {
        "username": target.username,
        "password": target.password,
        "socket_connect_timeout": CONNECT_TIMEOUT,
    }
    if target.mode == "sentinel":
        return await _sentinel_master(target, common)
    if target.mode == "cluster":
        return await _cluster(target, common)
    assert target.url is not None
    single = Redis.from_url(target.url, socket_connect_timeout=CONNECT_TIMEOUT,
                            max_connections=MAX_CONNECTIONS)
    try:
        info = await single.info("cluster")
    except BaseException:
        await single.aclose()
        raise
    if target.mode == "auto" and int(info.get("cluster_enabled", 0)) == 1:
        await single.aclose()
        return await _cluster(target, common)
    return single


async def _cluster(target: RedisTarget, common: dict[str, Any]) -> RedisCluster:
    cluster = RedisCluster(
        startup_nodes=[ClusterNode(host, port) for host, port in target.hosts],
        ssl=target.tls,
        max_connections=MAX_CONNECTIONS,
        **common,
    )
    try:
        await cluster.initialize()
    except BaseException:
        await cluster.aclose()
        raise
    return cluster


async def _sentinel_master(target: RedisTarget, common: dict[str, Any]) -> Redis:
    assert target.service is not None
    sentinel = Sentinel(
        list(target.hosts),
        sentinel_kwargs={
            "password": target.sentinel_password,
            "ssl": target.tls,
            "socket_connect_timeout": CONNECT_TIMEOUT,
        },
        ssl=target.tls,
        db=target.db,
        **common,
    )
    master: Redis = sentinel.master_for(target.service, max_connections=MAX_CONNECTIONS)
    try:
        await master.ping()
    except BaseException:
        await master.aclose()
        raise
    return master
