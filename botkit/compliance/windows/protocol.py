"""The WhatsApp 24-hour customer service window: when each user last wrote to each sender.

Free-form WhatsApp messages are only allowed within 24 hours of the user's last message to that
sender; the inbound pipeline records every message, the outbound worker asks before sending. The
window is a rule, so it is measured on botkit.core.clock (tests move it a day ahead).
"""

from __future__ import annotations

from typing import Protocol

WINDOW_SECONDS = 24 * 3600


class WindowStore(Protocol):
    async def touch(self, sender: str, user: str) -> None:
        """user just wrote to sender (a whatsapp: address or a Messaging Service SID)."""

    async def is_open(self, sender: str, user: str) -> bool:
        """May sender send user a free-form message now?"""




