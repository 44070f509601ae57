"""What the support bot keeps beyond a session: tickets, surveys waiting for an answer, and
the ratings customers gave. Opened when the bot starts (memory, or Redis with REDIS_URL)."""

from __future__ import annotations

from pydantic import BaseModel

from bots.common.records import BotRecords, RecordsBackend, RecordStore


class Ticket(BaseModel):
    id: str
    customer: str
    summary: str


class PendingSurvey(BaseModel):
    """A survey sent after an agent closed a chat, keyed by the customer's address."""

    conversation_sid: str
    agent: str | None


class Rating(BaseModel):
    """A survey answer, keyed by the conversation it rates."""

    conversation_sid: str
    customer: str
    agent: str | None
    rating: int


class SupportRecords(BotRecords):
    tickets: RecordStore[Ticket]
    surveys: RecordStore[PendingSurvey]
    ratings: RecordStore[Rating]

    def choose(self, backend: RecordsBackend) -> None:
        self.tickets = backend.store(Ticket, "support:tickets")
        self.surveys = backend.store(PendingSurvey, "support:surveys")
        self.ratings = backend.store(Rating, "support:ratings")
