"""Waking idle workers through Redis pub/sub: a script that puts work in line PUBLISHes on a
channel, and a worker with nothing to do waits for the message instead of polling or blocking a
connection per queue.

A channel is not a key, so one connection hears every shard's channel, on one server or a
Redis Cluster (where PUBLISH reaches every node). Messages that come while the worker is busy
wait in the connection's buffer, so a signal given between two waits ends the next one; a
message can still be lost (one published before the first subscription, or during a reconnect),
so a waiting worker also looks again after its timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections.abc import Sequence
from typing import Any

from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from botkit.core.redis_client import RedisClient

#: How long a listener that cannot subscribe waits before its caller looks anyway.
DEAF_WAIT = 0.1


class WakeListener:
    """When the subscription is lost (its server died: on a cluster, the node the channel
    hashes to), the listener cannot hear, so it answers as if every channel had signalled, and
    subscribes again on the next call, where the client's current view of the servers sends
    it. Callers then look everywhere until it hears again: slower, never stuck."""

    def __init__(self, redis: RedisClient, channels: Sequence[str]) -> None:
        self._redis = redis
        self._channels = list(channels)
        self._pubsub: PubSub | None = None
        # One connection, shared by every loop of the process that uses this queue: one reader
        # at a time (redis-py refuses a second), one subscription.
        self._reading = asyncio.Lock()
        self._subscribing = asyncio.Lock()

    @property
    def hearing(self) -> bool:
        """Whether signals reach this listener now."""
        return self._pubsub is not None

    async def listen(self) -> bool:
        """Subscribe, once: a caller does this before it looks for work, so that no signal
        given after the look goes unheard. Made on first use, so that processes that only
        put work in line never subscribe. False while the subscription cannot be made."""
        if self._pubsub is not None:
            return True
        async with self._subscribing:
            if self._pubsub is None:
                # Subscription confirmations are read and skipped here: redis-py's own
                # skipping answers None for them, which drain() would take for an empty buffer.
                pubsub = self._redis.pubsub()
                try:
                    await pubsub.subscribe(*self._channels)
                except (RedisError, OSError):
                    await _close_quietly(pubsub)
                    return False
                self._pubsub = pubsub
        return True

    async def wait(self, within: float) -> str | None:
        """The channel of the first signal within ``within`` seconds (one that came meanwhile
        counts at once), or None. Unable to hear: the first channel, after a short pause."""
        if not await self.listen():
            await asyncio.sleep(min(within, DEAF_WAIT))
            return self._channels[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        try:
            async with asyncio.timeout(within):  # behind another loop's wait, at most this long
                await self._reading.acquire()
        except TimeoutError:
            return None
        try:
            while (left := deadline - loop.time()) > 0:
                if self._pubsub is None:  # lost while this waited for its turn
                    return self._channels[0]
                try:
                    message = await self._pubsub.get_message(timeout=left)
                except (RedisError, OSError):
                    await self._lost()
                    return self._channels[0]
                if _is_signal(message):
                    return _text(message["channel"])
            return None
        finally:
            self._reading.release()

    async def drain(self) -> set[str]:
        """The channels that signalled while the caller was busy, read off the buffer so that
        they neither pile up in Redis nor end a wait for work the caller is about to take.
        Unable to hear: every channel."""
        signalled: set[str] = set()
        if self._pubsub is None:
            return signalled if await self.listen() else set(self._channels)
        if self._reading.locked():
            # Another loop of this process is waiting on the connection: what it hears, it
            # hands on through the shared ShardWakes.
            return signalled
        async with self._reading:
            try:
                while self._pubsub is not None and (
                    message := await self._pubsub.get_message(timeout=0)
                ) is not None:
                    if _is_signal(message):
                        signalled.add(_text(message["channel"]))
            except (RedisError, OSError):
                await self._lost()
                return set(self._channels)
        return signalled

    async def _lost(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await _close_quietly(pubsub)

    async def close(self) -> None:
        await self._lost()


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()


def _is_signal(message: dict[str, Any] | None) -> bool:
    """A published message, not a subscription's confirmation."""
    return message is not None and message["type"] in ("message", b"message")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class ShardWakes:
    """Which shards of a sharded queue to ask for work, so that a worker asks the few that may
    have some rather than every shard each time (16 shards would be 16 round trips per take).

    A shard is due when its channel signalled, when the time it said its next work falls due has
    come, and every ``sweep`` seconds in any case: a signal can be lost in a reconnect, and work
    can fall due in a shard without a signal (a lapsed lease, another worker's retry)."""

    def __init__(self, redis: RedisClient, channels: Sequence[str], sweep: float = 1.0) -> None:
        self._listener = WakeListener(redis, channels)
        self._index = {channel: i for i, channel in enumerate(channels)}
        self._due = [0.0] * len(channels)  # monotonic time each shard may have work from
        self._sweep, self._swept = sweep, 0.0
        self._turn = itertools.cycle(range(len(channels)))

    async def due(self, within: float = 0.0) -> list[int]:
        """The shards to ask now (work due within ``within`` seconds), starting at a rotating
        one so that none is starved."""
        await self._listener.listen()  # before the ask, so that no later signal goes unheard
        for channel in await self._listener.drain():  # this ask covers those signals
            self.signal(self._index[channel])
        now = time.monotonic()
        if now - self._swept >= self._sweep:
            self._due = [0.0] * len(self._due)
            self._swept = now
        first = next(self._turn)
        order = [(first + step) % len(self._due) for step in range(len(self._due))]
        return [shard for shard in order if self._due[shard] <= now + within]

    def earliest(self) -> int:
        """The shard whose work falls due first (ask it when none is due, to learn the time)."""
        return min(range(len(self._due)), key=self._due.__getitem__)

    def due_in(self, shard: int) -> float | None:
        """Seconds until ``shard`` said its work falls due (0 when due now), None: unknown."""
        due = self._due[shard]
        return None if math.isinf(due) else max(0.0, due - time.monotonic())

    def signal(self, shard: int) -> None:
        """Work was put in line in ``shard`` (by this process: no need to wait for the echo)."""
        self._due[shard] = 0.0

    def found(self, shard: int, next_in: float | None) -> None:
        """What asking ``shard`` told: its next work falls due in ``next_in`` seconds (0: there
        is more now), or None: nothing until a signal."""
        self._due[shard] = math.inf if next_in is None else time.monotonic() + next_in

    async def wait(self, within: float) -> bool:
        """Until a signal, at most ``within`` seconds: whether one came."""
        channel = await self._listener.wait(within)
        if channel is None:
            return False
        if self._listener.hearing:
            self.signal(self._index[channel])
        else:  # deaf until it subscribes again: any shard may have work
            self._due = [0.0] * len(self._due)
        return True

    async def close(self) -> None:
        await self._listener.close()
