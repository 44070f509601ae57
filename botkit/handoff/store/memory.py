"""HandoffStore in dicts, for one process (development, tests); the same contract tests run
against it and the Redis store."""

from __future__ import annotations

import time
from collections.abc import Sequence

from botkit.handoff.store.protocol import RECORD_TTL, HandoffRecord


class MemoryHandoffStore:
    """HandoffStore in dicts, for one process (development, tests)."""

    def __init__(self) -> None:
        self._records: dict[str, tuple[str, float]] = {}
        self._load: dict[str, int] = {}
        self._queue: dict[str, float] = {}

    async def get(self, conversation_sid: str) -> HandoffRecord | None:
        stored = self._records.get(conversation_sid)
        if stored is None or stored[1] <= time.monotonic():
            return None
        return HandoffRecord.model_validate_json(stored[0])

    async def put(self, record: HandoffRecord) -> None:
        self._records[record.conversation_sid] = (
            record.model_dump_json(),
            time.monotonic() + RECORD_TTL,
        )

    async def delete(self, conversation_sid: str) -> None:
        self._records.pop(conversation_sid, None)

    async def assign(self, agents: Sequence[str], capacity: int) -> str | None:
        best: str | None = None
        for agent in agents:
            load = self._load.get(agent, 0)
            if load < capacity and (best is None or load < self._load.get(best, 0)):
                best = agent
        if best is not None:
            self._load[best] = self._load.get(best, 0) + 1
        return best

    async def acquire(self, agent: str) -> None:
        self._load[agent] = self._load.get(agent, 0) + 1

    async def release(self, agent: str) -> None:
        if self._load.get(agent, 0) > 0:
            self._load[agent] -= 1

    async def load(self, agent: str) -> int:
        return self._load.get(agent, 0)

    async def enqueue(self, conversation_sid: str, at: float) -> int:
        self._queue.setdefault(conversation_sid, at)
        position = await self.position(conversation_sid)
        assert position is not None
        return position

    async def position(self, conversation_sid: str) -> int | None:
        order = await self.waiting()
        return order.index(conversation_sid) + 1 if conversation_sid in order else None

    async def take(self, agent: str, capacity: int) -> str | None:
        order = await self.waiting()
        if not order or self._load.get(agent, 0) >= capacity:
            return None
        del self._queue[order[0]]
        self._load[agent] = self._load.get(agent, 0) + 1
        return order[0]

    async def dequeue(self, conversation_sid: str) -> bool:
        return self._queue.pop(conversation_sid, None) is not None

    async def waiting(self) -> list[str]:
        # Sorted like a Redis sorted set: by score, then by member.
        return [sid for sid, _ in sorted(self._queue.items(), key=lambda item: (item[1], item[0]))]


