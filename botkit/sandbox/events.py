"""A small in-process event bus: the simulator's live view subscribes to what the sandbox does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

#: The last event a subscriber gets: the sandbox is shutting down.
CLOSED = "closed"


class EventBus:
    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def close(self) -> None:
        """End every subscription, so open event streams let the server stop at once instead
        of holding it until their next keep-alive."""
        for queue in self._subscribers:
            queue.put_nowait({"type": CLOSED, "data": {}})

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        event = {"type": kind, "data": data}
        for queue in self._subscribers:
            queue.put_nowait(event)

    def publish_lazily(self, kind: str, build: Callable[[], dict[str, Any]]) -> None:
        """publish(kind, build()), building the event only if someone is listening: most of
        the time nobody is, and under load the JSON of every status change adds up."""
        if self._subscribers:
            self.publish(kind, build())

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
