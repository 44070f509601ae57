"""The WhatsApp 24-hour customer service window: when each user last wrote to each sender.

Free-form WhatsApp messages are only allowed within 24 hours of the user's last message to that
sender; the inbound pipeline records every message, the outbound worker asks before sending. The
window is a rule, so it is measured on botkit.core.clock (tests move it a day ahead).

A user is kept under their pseudonym (botkit/core/person.py), never their number; a window
lives as long as it is open, and a person's are exported and erased with the rest of their data.
"""

from __future__ import annotations

from typing import Protocol

from botkit.core.person import Found, Person

WINDOW_SECONDS = 24 * 3600


class WindowStore(Protocol):
    async def touch(self, sender: str, user: str) -> None:
        """user just wrote to sender (a whatsapp: address or a Messaging Service SID)."""

    async def is_open(self, sender: str, user: str) -> bool:
        """May sender send user a free-form message now?"""

    async def export_person(self, person: Person) -> Found:
        """The senders ``person`` has an open window with, and when they last wrote."""

    async def erase_person(self, person: Person) -> int:
        """Close every window of ``person``; how many there were."""
