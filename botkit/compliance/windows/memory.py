"""The WhatsApp window in a dict, for one process (development, tests)."""

from __future__ import annotations

from botkit.compliance.windows.protocol import WINDOW_SECONDS
from botkit.core import clock


class MemoryWindowStore:
    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._last: dict[tuple[str, str], float] = {}

    async def touch(self, sender: str, user: str) -> None:
        self._last[(sender, user)] = clock.now()

    async def is_open(self, sender: str, user: str) -> bool:
        last = self._last.get((sender, user))
        return last is not None and clock.now() - last < self.window


