"""``bot.records(Model, "namespace")``: a bot's own records, kept where its sessions are.

A session belongs to one customer and expires; a ticket, an order or a survey answer must
outlive both and be readable by every process. A bot declares its record stores when it is
built, and uses them in handlers: in memory without ``REDIS_URL``, in the same Redis as the
sessions with it, chosen by the runtime (botkit/runtime/) when the bot starts. Before that,
and in a process that never starts the bot, they are in this process's memory.

Records are pydantic models, validated on the way in and out, stored as JSON. A store declared
with ``ttl=`` keeps each record that many seconds after it was put (a survey that may be
answered for a day, say); without, records are kept until deleted.

Records about a person are found again for ``botkit privacy export|erase``: a store declared
with ``owner="customer"`` (the model field holding the person's address) indexes each record
under the person's pseudonym when it is put, and ``of_person`` / ``forget_person`` answer and
delete them; the bot calls those from its ``@bot.on_privacy_export`` and ``on_privacy_erase``
hooks. A record keyed by a person uses ``person_key(number)``, their pseudonym, as its key: no
key in storage holds a phone number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel

from botkit.core.person import Pseudonym
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
        owner: str | None = None,
        pseudonym: Callable[[], Pseudonym],
    ) -> None:
        if ttl is not None and not ttl > 0:
            raise ValueError(f"records {namespace!r}: ttl must be seconds > 0, or None")
        if owner is not None and owner not in model.model_fields:
            raise ValueError(f"records {namespace!r}: {model.__name__} has no field {owner!r}")
        self.model = model
        self.namespace = namespace
        self.ttl = ttl
        self.owner = owner
        self._backend = backend
        self._pseudonym = pseudonym

    @property
    def _store(self) -> RecordStore:
        return self._backend().store(self.namespace)

    async def next_number(self) -> int:
        """A number no other caller ever gets (1, 2, 3...), across processes: for record ids."""
        return await self._store.next_number()

    def person_key(self, number: str) -> str:
        """The key of a record about the person at ``number`` (any channel's address): their
        pseudonym, the pepper-HMAC of the number, never the number itself."""
        return self._pseudonym()(number)

    async def put(self, key: str, record: M, *, owner: str | None = None) -> None:
        """Store ``record`` under ``key`` (for the store's ``ttl``, if it has one). ``owner``:
        the address of the person it is about, if the store has no ``owner`` field."""
        checked = self.model.model_validate(record)
        if owner is None and self.owner is not None:
            owner = str(getattr(checked, self.owner))
        await self._store.put(
            key,
            checked.model_dump_json(),
            self.ttl,
            None if owner is None else self.person_key(owner),
        )

    async def of_person(self, number: str) -> dict[str, M]:
        """Every live record put with ``number``'s person as owner, by key."""
        found = {}
        for key in await self._store.owned(self.person_key(number)):
            record = await self.get(key)
            if record is not None:
                found[key] = record
        return found

    async def forget_person(self, number: str) -> int:
        """Delete every record put with ``number``'s person as owner; how many went."""
        return await self._store.forget_owner(self.person_key(number))

    async def get(self, key: str) -> M | None:
        return self._load(await self._store.get(key))

    async def take(self, key: str) -> M | None:
        """Remove and return the record in one step: two processes never both take it."""
        return self._load(await self._store.take(key))

    async def delete(self, key: str) -> bool:
        return await self._store.delete(key)

    def _load(self, raw: str | None) -> M | None:
        return None if raw is None else self.model.model_validate_json(raw)
