"""HistoryStore in dicts, for one process (development, tests)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from botkit.core.person import Found, Person
from botkit.handoff.history.protocol import (
    HISTORY_LIMIT,
    HISTORY_TTL,
    HistoryEntry,
    about,
    entry_row,
)


@dataclass
class _Thread:
    entries: deque[HistoryEntry]
    last: int = 0
    expires: float = field(default=0.0)


class MemoryHistoryStore:
    def __init__(self, *, limit: int = HISTORY_LIMIT, ttl: float = HISTORY_TTL) -> None:
        self._limit = limit
        self._ttl = ttl
        self._threads: dict[str, _Thread] = {}

    def _live(self, thread: str) -> _Thread | None:
        found = self._threads.get(thread)
        if found is not None and found.expires <= time.monotonic():
            del self._threads[thread]
            return None
        return found

    async def append(
        self,
        thread: str,
        entries: Sequence[HistoryEntry],
        *,
        limit: int | None = None,
        ttl: float | None = None,
    ) -> int:
        found = self._live(thread) or self._threads.setdefault(thread, _Thread(deque()))
        for entry in entries:
            found.last += 1
            found.entries.append(entry.model_copy(update={"index": found.last}))
        while len(found.entries) > (limit or self._limit):
            found.entries.popleft()
        found.expires = time.monotonic() + (ttl or self._ttl)
        return found.last

    async def read(self, thread: str, after: int = 0) -> list[HistoryEntry]:
        found = self._live(thread)
        return [] if found is None else [e for e in found.entries if e.index > after]

    async def erase(self, thread: str) -> bool:
        return self._threads.pop(thread, None) is not None

    async def export_person(self, person: Person) -> Found:
        return [entry_row(thread, e) for thread, e in self._entries_about(person)]

    async def erase_person(self, person: Person) -> int:
        theirs = self._entries_about(person)
        for thread, entry in theirs:
            self._threads[thread].entries.remove(entry)
        for thread in {thread for thread, _ in theirs}:
            if not self._threads[thread].entries:
                del self._threads[thread]
        return len(theirs)

    def _entries_about(self, person: Person) -> list[tuple[str, HistoryEntry]]:
        return [
            (thread, entry)
            for thread in sorted(self._threads)
            if (found := self._live(thread)) is not None
            for entry in found.entries
            if about(person, thread, entry.model_dump_json())
        ]
