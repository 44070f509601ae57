"""Telling one agent something that the customer must not see: a command's result, a
conversation given or transferred to them.

Everything posted into a conversation reaches every participant (the customer's phone by SMS),
so these never go there. They go to the agent's own thread in the history store, which the
agent desk shows live; an agent who works from a phone also gets them by SMS, 1:1 from the bot
number they are bound through. The thread is named by the agent's pseudonym, and its entries do
not name the agent again: an agent's identity is often their phone number, and none is kept in
a key (docs/privacy.md).
"""

from __future__ import annotations

from botkit.core import clock
from botkit.core.person import Pseudonym
from botkit.handoff.history.protocol import HistoryEntry, HistoryStore, agent_thread
from botkit.logging import get_logger
from botkit.outbound.messenger import Messenger, number_on_channel_of

log = get_logger("handoff")


def is_phone(agent: str) -> bool:
    return agent.startswith(("+", "whatsapp:"))


class Notices:
    def __init__(
        self, history: HistoryStore, pseudonym: Pseudonym, messenger: Messenger | None = None
    ) -> None:
        """``pseudonym``: what names an agent's thread instead of their identity."""
        self.history = history
        self.pseudonym = pseudonym
        self.messenger = messenger

    async def tell(self, agent: str, text: str, *, proxy: str | None = None) -> None:
        """``proxy``: the bot number a phone agent is bound through (the SMS comes from it)."""
        entry = HistoryEntry(at=clock.now(), kind="notice", role="system", text=text)
        await self.history.append(agent_thread(self.pseudonym(agent)), [entry])
        if self.messenger is None or not is_phone(agent) or not proxy:
            return
        try:
            await self.messenger.send(
                agent, text, default=number_on_channel_of(agent, proxy), lane="reply"
            )
        except Exception:
            log.exception("notice to a phone agent could not be queued")

    async def of(self, agent: str, after: int = 0) -> list[HistoryEntry]:
        """What ``agent`` was told, after the notice numbered ``after``."""
        return await self.history.read(agent_thread(self.pseudonym(agent)), after)
