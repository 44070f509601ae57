"""Records in dicts, for one process (development, tests)."""

from __future__ import annotations


class MemoryRecordStore:
    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._last = 0

    async def next_number(self) -> int:
        self._last += 1
        return self._last

    async def put(self, key: str, value: str) -> None:
        self._values[key] = value

    async def get(self, key: str) -> str | None:
        return self._values.get(key)

    async def take(self, key: str) -> str | None:
        return self._values.pop(key, None)

    async def delete(self, key: str) -> bool:
        return self._values.pop(key, None) is not None


class MemoryRecordBackend:
    def __init__(self) -> None:
        self._stores: dict[str, MemoryRecordStore] = {}

    def store(self, namespace: str) -> MemoryRecordStore:
        return self._stores.setdefault(namespace, MemoryRecordStore())
