"""What the support bot keeps beyond a session: tickets, surveys waiting for an answer, and
the ratings customers gave. Kept where the sessions are (memory, or Redis with REDIS_URL).

Every record names the customer it is about as its owner, so a data subject's export or
erasure (``botkit privacy``) finds them through the bot's privacy hooks below. A pending survey
is keyed by the customer's pseudonym (``person_key``), never their number. Tickets and ratings
are kept for SUPPORT_RECORD_RETENTION days (config.py), then expire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from botkit import Bot, PrivacyRequest, Records


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
    def of(cls, bot: Bot, survey_window: float, retention: float) -> SupportRecords:
        """``retention``: seconds a ticket or rating is kept."""
        records = cls(
            tickets=bot.records(Ticket, "support:tickets", ttl=retention, owner="customer"),
            surveys=bot.records(PendingSurvey, "support:surveys", ttl=survey_window),
            ratings=bot.records(Rating, "support:ratings", ttl=retention, owner="customer"),
        )
        bot.on_privacy_export(records.export_person)
        bot.on_privacy_erase(records.erase_person)
        return records

    async def export_person(self, request: PrivacyRequest) -> dict[str, Any]:
        """The customer's tickets, ratings and pending survey."""
        found: dict[str, Any] = {}
        for name, store in (("tickets", self.tickets), ("ratings", self.ratings)):
            records = await store.of_person(request.number)
            found[name] = [record.model_dump(mode="json") for record in records.values()]
        survey = await self.surveys.get(self.surveys.person_key(request.number))
        found["pending_survey"] = None if survey is None else survey.model_dump(mode="json")
        return found

    async def erase_person(self, request: PrivacyRequest) -> int:
        """Delete them; how many went."""
        gone = await self.tickets.forget_person(request.number)
        gone += await self.ratings.forget_person(request.number)
        gone += int(await self.surveys.delete(self.surveys.person_key(request.number)))
        return gone
