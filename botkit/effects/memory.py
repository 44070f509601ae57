"""EffectStore in a dict, for one process (development, tests)."""

from __future__ import annotations

import json
import time

from botkit.core.person import Found, Person


class MemoryEffectStore:
    def __init__(self) -> None:
        self._results: dict[str, tuple[str, float]] = {}

    async def get(self, key: str) -> str | None:
        stored = self._results.get(key)
        if stored is None or stored[1] <= time.monotonic():
            return None
        return stored[0]

    async def put_first(self, key: str, result: str, ttl: float) -> str:
        stored = await self.get(key)
        if stored is not None:
            return stored
        self._results[key] = (result, time.monotonic() + ttl)
        return result

    async def export_person(self, person: Person) -> Found:
        found = []
        for key in sorted(self._theirs(person)):
            result = await self.get(key)
            if result is not None:
                found.append({"key": key.partition(":")[2], "result": json.loads(result)})
        return found

    async def erase_person(self, person: Person) -> int:
        theirs = self._theirs(person)
        for key in theirs:
            del self._results[key]
        return len(theirs)

    def _theirs(self, person: Person) -> list[str]:
        return [key for key in self._results if key.startswith(person.digest + ":")]
