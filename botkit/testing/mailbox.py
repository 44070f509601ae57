"""Unread messages for one recipient, and waiting for the next one without polling.

``expect_reply`` must be fast (hundreds of turns a second) and exact (no sleep that is too short
on a slow CI machine), so a waiter is woken by the very event that delivers its message.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Everything received, and the part not yet read by an expectation."""

    def __init__(self) -> None:
        self.received: list[T] = []
        self._unread: deque[T] = deque()
        self._arrived = asyncio.Event()

    def put(self, item: T) -> None:
        self.received.append(item)
        self._unread.append(item)
        self._arrived.set()

    @property
    def unread(self) -> list[T]:
        return list(self._unread)

    async def next(self, within: float) -> T | None:
        """The oldest unread item, waiting up to ``within`` seconds for one; None if none came."""
        try:
            async with asyncio.timeout(within):
                while not self._unread:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            return None
        return self._unread.popleft()

    def take_all(self) -> list[T]:
        """Mark everything read; what was unread."""
        items = list(self._unread)
        self._unread.clear()
        return items
