"""Shards spread evenly over a Redis Cluster's masters, and one shard is the old layout."""

from __future__ import annotations

import pytest

from botkit.core.sharding import SLOTS, shard_of, slot_of, spread_tags
from tests.support.redis_cluster import Topology


@pytest.mark.parametrize("count", [2, 3, 4, 7, 16, 64])
def test_each_shard_takes_its_own_equal_range_of_slots(count: int) -> None:
    tags = spread_tags("botkit:consent", count)
    assert len(set(tags)) == count
    for shard, tag in enumerate(tags):
        assert shard * SLOTS // count <= slot_of(tag) < (shard + 1) * SLOTS // count


def test_one_shard_keeps_the_tag_the_keys_always_had() -> None:
    assert spread_tags("botkit:consent", 1) == ("botkit:consent",)
    assert shard_of("+15550001111", 1) == 0


def test_keys_spread_over_the_shards_the_same_everywhere() -> None:
    senders = [f"+1555000{n:04}" for n in range(3000)]
    counts = [0, 0, 0]
    for sender in senders:
        counts[shard_of(sender, 3)] += 1
    assert min(counts) > 900  # CRC32: even enough, and no process-specific hash seed
    assert shard_of("+15550001111", 16) == 15  # zlib.crc32(b"+15550001111") % 16


def test_three_shards_land_on_three_masters_of_a_cluster(redis_cluster: Topology) -> None:
    port = int(redis_cluster.url.rsplit(":", 1)[1].split("/")[0])
    owners = []
    for tag in spread_tags("botkit:inbound:demo", 3):
        slot = int(redis_cluster.cli(port, "cluster", "keyslot", tag))
        assert slot == slot_of(tag)
        owners.append(redis_cluster.master_of(slot)[0])
    assert len(set(owners)) == 3

