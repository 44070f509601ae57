"""Where the example bots keep their own records (tickets, survey answers, shop orders).

Sessions belong to one customer and expire; a ticket or an order must outlive both and be
readable by other processes, so the bots keep them beside the sessions, the way botkit keeps
its own stores: in memory without ``REDIS_URL`` (development, tests), in Redis with it (every
``botkit run`` process sees the same records).

A record is a pydantic model stored as JSON under a key the bot chooses, in a namespace that
is also the Redis Cluster hash tag, so every key of one store lives in one slot.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel
from redis.asyncio import Redis

from botkit import Bot, Startup

M = TypeVar("M", bound=BaseModel)


class RecordStore(Protocol[M]):
    async def next_number(self) -> int:
        """A number no other caller of this store ever gets (1, 2, 3...): for record ids."""

    async def put(self, key: str, record: M) -> None: ...

    async def get(self, key: str) -> M | None: ...

    async def take(self, key: str) -> M | None:
        """Remove and return the record in one step, so two processes never both take it."""


class MemoryRecords(Generic[M]):
    """RecordStore in a dict, for one process."""

    def __init__(self, model: type[M]) -> None:
        self._model = model
        self._records: dict[str, str] = {}
        self._last = 0

    async def next_number(self) -> int:
        self._last += 1
        return self._last

    async def put(self, key: str, record: M) -> None:
        self._records[key] = record.model_dump_json()

    async def get(self, key: str) -> M | None:
        raw = self._records.get(key)
        return None if raw is None else self._model.model_validate_json(raw)

    async def take(self, key: str) -> M | None:
        raw = self._records.pop(key, None)
        return None if raw is None else self._model.model_validate_json(raw)


class RedisRecords(Generic[M]):
    """RecordStore in Redis: one JSON string per record, a counter for numbers."""

    def __init__(self, redis: Redis, model: type[M], namespace: str) -> None:
        self._redis = redis
        self._model = model
        self._prefix = f"{{{namespace}}}:"

    async def next_number(self) -> int:
        return int(await self._redis.incr(self._prefix + "#counter"))

    async def put(self, key: str, record: M) -> None:
        await self._redis.set(self._prefix + key, record.model_dump_json())

    async def get(self, key: str) -> M | None:
        raw = await self._redis.get(self._prefix + key)
        return None if raw is None else self._model.model_validate_json(raw)

    async def take(self, key: str) -> M | None:
        raw = await self._redis.getdel(self._prefix + key)
        return None if raw is None else self._model.model_validate_json(raw)


class RecordsBackend:
    """The one Redis connection (or none) a bot's record stores share."""

    def __init__(self) -> None:
        self._redis: Redis | None = None

    def open(self, redis_url: str | None) -> None:
        """Connect lazily: the runtime has just reached the same Redis (or stopped start-up
        with one line saying why it cannot)."""
        if redis_url is not None:
            self._redis = Redis.from_url(redis_url, socket_connect_timeout=3)

    def store(self, model: type[M], namespace: str) -> RecordStore[M]:
        """A store of ``model`` records under ``namespace``: Redis when open with a URL."""
        if self._redis is None:
            return MemoryRecords(model)
        return RedisRecords(self._redis, model, namespace)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None


class BotRecords:
    """A bot's record stores, chosen when the bot starts, from the settings it runs with.

    Subclasses create their stores in ``choose``. Before the bot starts they are in memory;
    each start begins afresh (memory) or connects (Redis), and stopping disconnects.
    """

    def __init__(self) -> None:
        self._backend = RecordsBackend()
        self.choose(self._backend)

    def choose(self, backend: RecordsBackend) -> None:
        raise NotImplementedError

    def attach(self, bot: Bot) -> None:
        bot.on_startup(self._open)
        bot.on_shutdown(self._backend.close)

    async def _open(self, startup: Startup) -> None:
        self._backend.open(startup.settings.redis_url)
        self.choose(self._backend)
