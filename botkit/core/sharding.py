"""Spreading work over Redis hash slots: which shard a key belongs to, and the hash tags of the
shards, chosen so that they land evenly on a Redis Cluster's masters.

Every multi-key script must stay in one slot, so a store that wants to spread puts each shard's
keys under one ``{tag}``. Tags named ``base:1``, ``base:2``... would fall on random slots, and a
cluster's masters (``redis-cli --cluster create`` gives each an equal, contiguous range of slots)
would get uneven shares: 3 shards on 3 masters often put two on one. So shard ``k`` takes the
first name whose slot lies in the ``k``-th of ``count`` equal ranges of slots. One shard keeps
``base`` itself, the tag the keys had before sharding. (Changing the count moves keys to other
shards: drain the queues first, see docs/deployment.md.)
"""

from __future__ import annotations

import binascii
import zlib
from functools import cache

#: Redis Cluster's hash slots.
SLOTS = 16384


def shard_of(key: str, count: int) -> int:
    """The shard of ``key`` among ``count``: CRC32, the same in every process and version."""
    if count == 1:
        return 0
    return zlib.crc32(key.encode()) % count


def slot_of(tag: str) -> int:
    """The slot of every key tagged ``{tag}``: CRC16-XMODEM, as Redis computes it (done here
    rather than through redis-py, which the handler-facing layers must not import)."""
    return binascii.crc_hqx(tag.encode(), 0) % SLOTS


@cache
def spread_tags(base: str, count: int) -> tuple[str, ...]:
    """The hash tags (without braces) of ``count`` shards, one per equal range of slots."""
    if count == 1:
        return (base,)
    tags = []
    for shard in range(count):
        low, high = shard * SLOTS // count, (shard + 1) * SLOTS // count
        attempt = 0
        while True:
            tag = f"{base}:{shard}" if attempt == 0 else f"{base}:{shard}.{attempt}"
            if low <= slot_of(tag) < high:
                break
            attempt += 1
        tags.append(tag)
    return tuple(tags)
