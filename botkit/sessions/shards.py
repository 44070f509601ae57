"""Where a bot's inbound events and sessions live in Redis: shards that each hold, under one
hash tag, a stream of accepted events and the sessions those events use.

Putting a conversation's session in the slot of the stream its messages are queued on is what
lets a worker take a message, lock its session and load it in one script, and later save the
session, unlock it and acknowledge the message in one more: three round trips per message from
webhook to saved session, acceptance included, on one Redis or on a Cluster (a multi-key script
may only touch one slot). A session key picks its shard by CRC32; an inbound 1:1 message is
queued on the shard of its session. The tags spread evenly over a cluster's masters, and shard
0's is the one the inbound stream always had (botkit/core/sharding.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from botkit.core.sharding import shard_of, spread_tags


@dataclass(frozen=True)
class Shards:
    namespace: str
    count: int = 1
    prefix: str = "botkit"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a bot needs at least one shard, got {self.count}")

    def of(self, key: str) -> int:
        """The shard of a session key (or of any key an event is queued by)."""
        return shard_of(key, self.count)

    def tag(self, shard: int) -> str:
        return "{" + spread_tags(f"{self.prefix}:inbound:{self.namespace}", self.count)[shard] + "}"

    def session_keys(self, key: str) -> list[str]:
        """A session's lock, data and expiry keys, in its shard's slot."""
        tag = self.tag(self.of(key))
        return [f"{tag}:lock:{key}", f"{tag}:session:{key}", f"{tag}:session-expires:{key}"]
