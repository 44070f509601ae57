"""Records in dicts, for one process (development, tests)."""

from __future__ import annotations

from botkit.core import clock


class MemoryRecordStore:
    def __init__(self) -> None:
        #: key -> (value, when it expires on botkit.core.clock, or None)
        self._values: dict[str, tuple[str, float | None]] = {}
        self._last = 0
        #: owner pseudonym -> keys put with it
        self._owners: dict[str, set[str]] = {}

    async def next_number(self) -> int:
        self._last += 1
        return self._last

    async def put(
        self, key: str, value: str, ttl: float | None = None, owner: str | None = None
    ) -> None:
        self._values[key] = (value, None if ttl is None else clock.now() + ttl)
        if owner is not None:
            self._owners.setdefault(owner, set()).add(key)

    async def get(self, key: str) -> str | None:
        stored = self._values.get(key)
        if stored is None:
            return None
        if stored[1] is not None and stored[1] <= clock.now():
            del self._values[key]
            return None
        return stored[0]

    async def take(self, key: str) -> str | None:
        value = await self.get(key)
        self._values.pop(key, None)
        return value

    async def delete(self, key: str) -> bool:
        return await self.take(key) is not None

    async def owned(self, owner: str) -> list[str]:
        keys = self._owners.get(owner, set())
        for key in [key for key in keys if await self.get(key) is None]:
            keys.discard(key)  # expired or deleted since
        return sorted(keys)

    async def forget_owner(self, owner: str) -> int:
        gone = sum([int(await self.delete(key)) for key in await self.owned(owner)])
        self._owners.pop(owner, None)
        return gone


class MemoryRecordBackend:
    def __init__(self) -> None:
        self._stores: dict[str, MemoryRecordStore] = {}

    def store(self, namespace: str) -> MemoryRecordStore:
        return self._stores.setdefault(namespace, MemoryRecordStore())
