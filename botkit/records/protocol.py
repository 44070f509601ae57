"""The RecordStore protocol: one namespace of a bot's records, as JSON strings.

A session belongs to one customer and expires; a ticket or an order must outlive both and be
readable by every process, so bots keep them here rather than in a session. The store knows
nothing of models: ``botkit.app.records.Records`` validates them on the way in and out, so the
backends stay small and the same contract test runs against both.

Each namespace is also the Redis Cluster hash tag of its keys, so ``next_number`` and ``take``
stay single-slot operations.
"""

from __future__ import annotations

from typing import Protocol


class RecordStore(Protocol):
    async def next_number(self) -> int:
        """A number no other caller of this namespace ever gets (1, 2, 3...): for record ids."""

    async def put(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""

    async def get(self, key: str) -> str | None:
        """The value under ``key``, or None."""

    async def take(self, key: str) -> str | None:
        """Remove and return the value in one step, so two processes never both take it."""

    async def delete(self, key: str) -> bool:
        """Remove the value; True if there was one."""


class RecordBackend(Protocol):
    """Where every namespace of a running bot lives: one process's memory, or Redis."""

    def store(self, namespace: str) -> RecordStore:
        """The store of one namespace (the same one for the same name)."""
