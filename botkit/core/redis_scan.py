"""Finding keys by pattern, on one Redis or on every master of a cluster: how a person's data
is found for an export or an erase (SCAN, never KEYS, so Redis keeps serving meanwhile).

A walk of the keyspace costs one round trip per thousand keys and is only ever made for an
operator's command (``botkit privacy``, ``botkit migrate``), never on a message's path.
"""

from __future__ import annotations

import re

from botkit.core.redis_client import RedisClient

#: Keys asked for per SCAN step.
SCAN_COUNT = 1000

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """``text`` matched literally inside a SCAN pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


async def scan_keys(redis: RedisClient, pattern: str) -> list[str]:
    """Every key matching ``pattern`` now, on every master (redis-py's cluster client walks
    each one), decoded, without duplicates."""
    found: dict[str, None] = {}
    async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT):
        found[key.decode() if isinstance(key, bytes) else str(key)] = None
    return list(found)
