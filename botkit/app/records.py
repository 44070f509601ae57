"""``bot.records(Model, "namespace")``: a bot's own records, kept where its sessions are.

A session belongs to one customer and expires; a ticket, an order or a survey answer must
outlive both and be readable by every process. A bot declares its record stores when it is
built, and uses them in handlers: in memory without ``REDIS_URL``, in the same Redis as the
sessions with it, chosen by the runtime (botkit/runtime/) when the bot starts. Before that,
and in a process that never starts the bot, they are in this process's memory.

Records are pydantic models, validated on the way in and out, stored as JSON. A store declared
with ``ttl=`` keeps each record that many seconds after it was put (a survey that may be
answered for a day, say); without, records are kept until deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel

from botkit.records.protocol import RecordBackend, RecordStore

M = TypeVar("M", bound=BaseModel)


class Records(Generic[M]):
    """The records of one model under one namespace (which is also their Redis hash tag)."""

    def __init__(
        self,
        model: type[M],
        namespace: str,
        backend: Callable[[], RecordBackend],
        *,
        ttl: float | None = None,
    ) -> None:
        if ttl is not None and not ttl > 0:
            raise ValueError(f"records {namespace!r}: ttl must be seconds > 0, or None")
        self.model = model
        self.namespace = namespace
        self.ttl = ttl
        self._backend = backend

    @property
    def _store(self) -> RecordStore:
        return self._backend().store(self.namespace)

    async def next_number(self) -> int:
        """A number no other caller ever gets (1, 2, 3...), across processes: for record ids."""
        return await self._store.next_number()

    async def put(self, key: str, record: M) -> None:
        """Store ``record`` under ``key`` (for the store's ``ttl``, if it has one)."""
        await self._store.put(key, self.model.model_validate(record).model_dump_json(), self.ttl)

    async def get(self, key: str) -> M | None:
        return self._load(await self._store.get(key))

    async def take(self, key: str) -> M | None:
        """Remove and return the record in one step: two processes never both take it."""
        return self._load(await self._store.take(key))

    async def delete(self, key: str) -> bool:
        return await self._store.delete(key)

    def _load(self, raw: str | None) -> M | None:
        return None if raw is None else self.model.model_validate_json(raw)
