"""Sharing one development sandbox among several ``botkit run`` processes through Redis.

With REDIS_URL set, the first process to start registers its sandbox's URL under a lease; the
others find it there and use it, so every process texts the same phones and shares the inbound
queue. The sandbox lives in the process that started it: when that one stops, the lease lapses
and the next process to start takes over with a fresh sandbox.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import RedisError

from botkit.errors import ConfigError
from botkit.sandbox import Sandbox

KEY = "botkit:dev:sandbox-url"
LEASE_SECONDS = 15

# KEYS: registry key. ARGV: expected (current) value or '', new value, lease seconds.
_CLAIM = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""

# KEYS: registry key. ARGV: our value, lease seconds (0: release).
_RENEW = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '0' then return redis.call('DEL', KEYS[1]) end
return redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


async def _alive(url: str) -> bool:
    timeout = aiohttp.ClientTimeout(total=1)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as http,
            http.get(f"{url}/sandbox/numbers") as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def registered_sandbox(redis_url: str) -> str | None:
    """The URL of the live sandbox registered in Redis, if any (for processes that never start
    one, such as ``botkit worker``)."""
    redis = Redis.from_url(redis_url)
    try:
        raw = await redis.get(KEY)
    except (RedisError, OSError) as exc:
        raise ConfigError(f"REDIS_URL: cannot reach Redis ({exc})") from None
    finally:
        await redis.aclose()
    url = raw.decode() if isinstance(raw, bytes) else raw
    return url if url and await _alive(url) else None


@asynccontextmanager
async def shared_sandbox(
    redis_url: str, start: Callable[[], Awaitable[Sandbox]]
) -> AsyncIterator[tuple[str, Sandbox | None]]:
    """Yield (sandbox URL, the Sandbox if this process owns it, else None)."""
    redis = Redis.from_url(redis_url)
    claim = redis.register_script(_CLAIM)
    renew = redis.register_script(_RENEW)
    try:
        found = await _register(redis, claim, start)
        if isinstance(found, str):
            yield found, None
            return
        box = found
        keeper = asyncio.create_task(_keep_lease(renew, box.url))
        try:
            yield box.url, box
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await renew(keys=[KEY], args=[box.url, 0])
            await box.stop()
    finally:
        await redis.aclose()


async def _register(
    redis: Redis, claim: Any, start: Callable[[], Awaitable[Sandbox]]
) -> str | Sandbox:
    """The URL of a live shared sandbox, or a Sandbox this process started and registered."""
    try:
        while True:
            raw = await redis.get(KEY)
            current = raw.decode() if isinstance(raw, bytes) else (raw or "")
            if current and await _alive(current):
                return current
            box = await start()
            if await claim(keys=[KEY], args=[current, box.url, LEASE_SECONDS]):
                return box
            await box.stop()  # another process registered first: use theirs
    except (RedisError, OSError) as exc:
        raise ConfigError(f"REDIS_URL: cannot reach Redis ({exc})") from None


async def _keep_lease(renew: Any, url: str) -> None:
    while True:
        await asyncio.sleep(LEASE_SECONDS / 3)
        await renew(keys=[KEY], args=[url, LEASE_SECONDS])
