"""Keeping leases alive while their holders work, with one task for all of them.

A session lock or an inbound delivery is leased for a while; a holder that works longer must
renew it, or someone else takes it over. Almost every holder finishes long before that, so a
sleeping task per holder (created and cancelled for every message) costs far more than the
renewals it almost never makes. Here a holder only registers; one task, running while anything
is held, renews each lease every ``every`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Generic, TypeVar

from botkit.logging import get_logger

T = TypeVar("T")

log = get_logger("renewals")


class Renewals(Generic[T]):
    def __init__(self, every: float, renew: Callable[[T], Awaitable[bool | None]]) -> None:
        """renew(item): extend the lease; False when it was lost (it is then no longer kept)."""
        self._every = every
        self._renew = renew
        self._held: dict[int, tuple[T, float]] = {}
        self._tokens = itertools.count()
        self._task: asyncio.Task[None] | None = None

    @contextlib.contextmanager
    def hold(self, item: T, since: float | None = None) -> Iterator[None]:
        """Keep ``item``'s lease alive for the duration of the block. ``since``: when the lease
        was taken or last renewed (time.monotonic(); default: now), which may be a while before
        its holder started work (a lock taken with its message, which then waited its turn)."""
        token = next(self._tokens)
        self._held[token] = (item, (time.monotonic() if since is None else since) + self._every)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="renewals")
        try:
            yield
        finally:
            self._held.pop(token, None)

    async def _run(self) -> None:
        try:
            while self._held:
                await asyncio.sleep(self._every / 3)
                now = time.monotonic()
                for token, (item, due) in list(self._held.items()):
                    if due > now or token not in self._held:
                        continue
                    self._held[token] = (item, now + self._every)
                    if await self._renewed(item) is False:
                        self._held.pop(token, None)
        finally:
            self._task = None

    async def _renewed(self, item: T) -> bool | None:
        try:
            return await self._renew(item)
        except Exception as exc:
            log.warning("lease renewal failed; trying again later", error=repr(exc))
            return None
