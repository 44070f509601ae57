"""The RecordStore protocol: one namespace of a bot's records, as JSON strings.

A session belongs to one customer and expires; a ticket or an order must outlive both and be
readable by every process, so bots keep them here rather than in a session. The store knows
nothing of models: ``botkit.app.records.Records`` validates them on the way in and out, so the
backends stay small and the same contract test runs against both.

A record may expire: ``put(..., ttl=seconds)``. Its lifetime is a rule read on
``botkit.core.clock`` (so a test can move time past it), and the backend also drops it by its
own clock soon after, so expired records do not pile up.

Each namespace is also the Redis Cluster hash tag of its keys, so ``next_number`` and ``take``
stay single-slot operations.

A record about a person is put with ``owner``: their pseudonym (never their number), under
which the store indexes its key, so that ``botkit privacy export|erase`` (through the bot's
privacy hooks) finds every record of one person without a walk of the keyspace. The index
keeps a key name after its record expired or was deleted; ``owned`` answers only live ones and
drops the rest, and the index expires with the longest-lived record put in it.
"""

from __future__ import annotations

from typing import Protocol


class RecordStore(Protocol):
    async def next_number(self) -> int:
        """A number no other caller of this namespace ever gets (1, 2, 3...): for record ids."""

    async def put(
        self, key: str, value: str, ttl: float | None = None, owner: str | None = None
    ) -> None:
        """Store ``value`` under ``key``, replacing what was there; gone after ``ttl`` seconds
        (None: kept until deleted). ``owner``: the pseudonym of the person it is about."""

    async def get(self, key: str) -> str | None:
        """The value under ``key``, or None (also once it expired)."""

    async def take(self, key: str) -> str | None:
        """Remove and return the value in one step, so two processes never both take it."""

    async def delete(self, key: str) -> bool:
        """Remove the value; True if there was one."""

    async def owned(self, owner: str) -> list[str]:
        """The keys of the live records put with ``owner``, sorted."""

    async def forget_owner(self, owner: str) -> int:
        """Delete every record put with ``owner``, and the index; how many records went."""


class RecordBackend(Protocol):
    """Where every namespace of a running bot lives: one process's memory, or Redis."""

    def store(self, namespace: str) -> RecordStore:
        """The store of one namespace (the same one for the same name)."""
