"""EffectStore in a dict, for one process (development, tests)."""

from __future__ import annotations

import time


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
