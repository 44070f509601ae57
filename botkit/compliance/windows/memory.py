"""The WhatsApp window in a dict, for one process (development, tests)."""

from __future__ import annotations

from botkit.compliance.windows.protocol import WINDOW_SECONDS
from botkit.core import clock
from botkit.core.person import Found, Person, Pseudonym


class MemoryWindowStore:
    def __init__(self, pseudonym: Pseudonym, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._pseudonym = pseudonym
        #: (sender, the user's pseudonym) -> when they last wrote (botkit.core.clock)
        self._last: dict[tuple[str, str], float] = {}

    async def touch(self, sender: str, user: str) -> None:
        self._last[(sender, self._pseudonym(user))] = clock.now()

    async def is_open(self, sender: str, user: str) -> bool:
        last = self._last.get((sender, self._pseudonym(user)))
        return last is not None and clock.now() - last < self.window

    async def export_person(self, person: Person) -> Found:
        return [
            {"sender": sender, "last_message_at": last}
            for (sender, user), last in sorted(self._last.items())
            if user == person.digest and clock.now() - last < self.window
        ]

    async def erase_person(self, person: Person) -> int:
        theirs = [key for key in self._last if key[1] == person.digest]
        for key in theirs:
            del self._last[key]
        return len(theirs)
