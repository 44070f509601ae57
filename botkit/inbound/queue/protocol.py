"""The InboundQueue protocol: accepted webhooks, deduplicated, waiting for a worker.

Acceptance (dedup + enqueue) is a single atomic step, so a webhook that got its 200 is either
in the queue or was a duplicate of one that is; nothing in between can be lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    """One queued event handed to a worker; finish() it once handled."""

    id: str
    payload: str


class InboundQueue(Protocol):
    async def prepare(self) -> None:
        """Create what the queue needs before the first accept (Redis: the consumer group, from
        the stream's start, so nothing accepted is skipped). Idempotent."""

    async def accept(self, dedup_id: str, payload: str, dedup_ttl: float) -> bool:
        """Enqueue payload unless dedup_id was accepted within dedup_ttl; True if enqueued."""

    async def take(self, consumer: str, count: int, wait: float) -> list[Delivery]:
        """Up to count new events, waiting up to ``wait`` seconds for the first."""

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        """Events another consumer took but left unfinished for ``idle`` seconds (it crashed)."""

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        """Tell the queue a long-running event is still being worked on."""

    async def finish(self, delivery: Delivery) -> None:
        """Remove a handled event for good."""

    async def backlog(self) -> int:
        """Events accepted and not yet finished (queued or in flight)."""
