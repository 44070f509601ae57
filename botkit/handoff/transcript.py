"""What an agent is handed with a conversation: the customer's last turns with the bot, a summary
of their session, and the reason for the handoff.

The turns are kept while the customer talks to the bot 1:1, in the history store under a thread
named by the pepper-HMAC of their number (never the number), only as many as the pool shows
(``AgentPool.transcript_turns``) and for as long as a session lives. A handler's ``Context``
records the customer's message with the bot's first reply to it, in one write. At a handoff the
turns move into the conversation's own history, where the agent desk shows them, and a short
copy goes into the conversation's attributes for any chat client. They are never posted into
the conversation: the customer does not get them again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botkit.core import clock
from botkit.handoff.history.protocol import HistoryEntry, HistoryStore, Role

#: Longest text kept of one turn, and of one value in a summary.
MAX_TURN_TEXT = 500
MAX_SUMMARY_VALUE = 120
MAX_SUMMARY_ITEMS = 20
#: Session keys botkit keeps for itself (a flow in progress, say): not the customer's story.
INTERNAL_PREFIX = "botkit:"


class Turns:
    """The turns of one inbound message: the customer's text, then what the bot replied. The
    customer's turn is written with the bot's first reply (one write per reply), or by
    ``flush`` when the message is handed off before any reply."""

    def __init__(self, history: HistoryStore, thread: str, keep: int, ttl: float) -> None:
        self._history = history
        self.thread = thread
        self._keep = keep
        self._ttl = ttl
        self._pending: list[HistoryEntry] = []

    def heard(self, text: str) -> None:
        if text.strip():
            self._pending.append(turn("customer", text))

    async def said(self, text: str | None) -> None:
        if text:
            self._pending.append(turn("bot", text))
        await self.flush()

    async def flush(self) -> None:
        entries, self._pending = self._pending, []
        if entries:
            await self._history.append(self.thread, entries, limit=2 * self._keep, ttl=self._ttl)

    async def last(self) -> list[HistoryEntry]:
        """The kept turns, newest ``keep`` customer-and-bot exchanges at most."""
        await self.flush()
        return (await self._history.read(self.thread))[-2 * self._keep :]


def turn(role: Role, text: str) -> HistoryEntry:
    return HistoryEntry(at=clock.now(), kind="turn", role=role, text=text[:MAX_TURN_TEXT])


def summary_of(session: Mapping[str, Any]) -> dict[str, str]:
    """What the session knows about the customer, as short text: its own keys (not botkit's),
    each value as JSON cut to a readable length."""
    summary: dict[str, str] = {}
    for key, value in session.items():
        if key.startswith(INTERNAL_PREFIX):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        summary[key] = (
            shown if len(shown) <= MAX_SUMMARY_VALUE else shown[: MAX_SUMMARY_VALUE - 1] + "…"
        )
        if len(summary) == MAX_SUMMARY_ITEMS:
            break
    return summary


def handover(reason: str | None, summary: Mapping[str, str]) -> HistoryEntry:
    """The entry that opens a conversation's history after its turns: why, and what we know."""
    return HistoryEntry(
        at=clock.now(),
        kind="handoff",
        role="system",
        text=reason or "",
        data={"summary": dict(summary)},
    )


def attributes_copy(
    turns: list[HistoryEntry], reason: str | None, summary: Mapping[str, str]
) -> dict[str, Any]:
    """The handover as a chat client reads it in the conversation's attributes (16 KB at most
    there, which these bounds keep well within)."""
    return {
        "reason": reason,
        "summary": dict(summary),
        "transcript": [{"role": t.role, "text": t.text[:200]} for t in turns],
    }
