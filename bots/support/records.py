"""What the support bot keeps beyond a session: tickets, surveys waiting for an answer, and
the ratings customers gave. Kept where the sessions are (memory, or Redis with REDIS_URL)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from botkit import Bot, Records


class Ticket(BaseModel):
    id: str
    customer: str
    summary: str


class PendingSurvey(BaseModel):
    """A survey sent after an agent closed a chat, keyed by the customer's address; it takes
    a rating only for the survey window (config.py), then expires."""

    conversation_sid: str
    agent: str | None


class Rating(BaseModel):
    """A survey answer, keyed by the conversation it rates."""

    conversation_sid: str
    customer: str
    agent: str | None
    rating: int


@dataclass(frozen=True)
class SupportRecords:
    """The support bot's record stores: in memory in development, beside the sessions in
    Redis."""

    tickets: Records[Ticket]
    surveys: Records[PendingSurvey]
    ratings: Records[Rating]

    @classmethod
    def of(cls, bot: Bot, survey_window: float) -> SupportRecords:
        return cls(
            tickets=bot.records(Ticket, "support:tickets"),
            surveys=bot.records(PendingSurvey, "support:surveys", ttl=survey_window),
            ratings=bot.records(Rating, "support:ratings"),
        )
