"""The HistoryStore protocol: short logs, one per thread, bounded and expiring.

Threads are ``conversation:<CH>`` (the turns a customer had with the bot before the handoff,
the handoff's reason and summary, then every message of the conversation and the agents'
private notes) and ``agent:<pseudonym>`` (what only that agent is told: command results, a
conversation given to them; named by the pepper-HMAC of the agent's identity, which is often
their phone number). The agent desk reads them, and they are what a person's data export and
erase find for a conversation.

Each thread keeps its newest ``limit`` entries and lives ``ttl`` seconds after its last one
(defaults: 200 entries, 7 days: BOTKIT_HANDOFF_HISTORY_RETENTION; a customer's 1:1 turns,
BOTKIT_TRANSCRIPT_RETENTION). Entries are numbered 1, 2, 3... per thread, so a reader can ask
for what came after the last one it saw.

A person's history is their own threads (``customer:<pseudonym>``, and ``agent:<pseudonym>``
when they are an agent), the threads of their conversations (``Person.conversations``: what
was said there, by anyone, is about them), and every other entry that mentions them (an
agent's notice naming them, masked or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel

from botkit.core.person import Found, Person

HISTORY_LIMIT = 200
HISTORY_TTL = 7 * 24 * 3600.0

#: turn: said 1:1 before the handoff; message: posted in the conversation; handoff: why and
#: with what summary it was handed over; note: an agent's, for agents only; notice: for one
#: agent.
EntryKind = Literal["turn", "message", "handoff", "note", "notice"]
Role = Literal["customer", "bot", "agent", "system"]


class HistoryEntry(BaseModel):
    index: int = 0
    at: float
    kind: EntryKind
    role: Role
    author: str | None = None
    text: str = ""
    data: dict[str, Any] = {}


def conversation_thread(conversation_sid: str) -> str:
    return f"conversation:{conversation_sid}"


def agent_thread(pseudonym: str) -> str:
    """The thread of what one agent alone is told; ``pseudonym``: the pepper-HMAC of their
    identity (``NumberHasher.pseudonym``), never the identity, which may be a phone number."""
    return f"agent:{pseudonym}"


def customer_thread(digest: str) -> str:
    """The thread of a customer's 1:1 turns; ``digest``: the pepper-HMAC of their number."""
    return f"customer:{digest}"


def whole_threads(person: Person) -> set[str]:
    """The threads that are ``person``'s altogether (see the module docstring)."""
    return {customer_thread(person.digest), agent_thread(person.digest)} | {
        conversation_thread(sid) for sid in person.conversations
    }


def about(person: Person, thread: str, raw_entry: str) -> bool:
    """Whether an entry (as stored, JSON) of ``thread`` belongs to ``person``'s history."""
    return thread in whole_threads(person) or person.mentioned_in(raw_entry)


def entry_row(thread: str, entry: HistoryEntry) -> dict[str, Any]:
    return {"thread": thread, **entry.model_dump(mode="json")}


class HistoryStore(Protocol):
    async def append(
        self,
        thread: str,
        entries: Sequence[HistoryEntry],
        *,
        limit: int | None = None,
        ttl: float | None = None,
    ) -> int:
        """Add ``entries`` (numbered on from the thread's last); the last number given.
        ``limit`` and ``ttl``: this thread's bounds, if not the store's."""

    async def read(self, thread: str, after: int = 0) -> list[HistoryEntry]:
        """The thread's kept entries numbered above ``after``, oldest first."""

    async def erase(self, thread: str) -> bool:
        """Forget the thread; True if there was one."""

    async def export_person(self, person: Person) -> Found:
        """Every entry of ``person``'s history (see the module docstring), with its thread."""

    async def erase_person(self, person: Person) -> int:
        """Delete those entries (their own threads whole); how many went."""
