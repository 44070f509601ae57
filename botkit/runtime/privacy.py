"""One person's data, exported or erased: what ``botkit privacy export|erase`` runs.

It lives in the composition root because it needs every store, and ``Stores`` is the one list
of them: a store added there without a part here is caught by tests/bots/test_privacy.py,
which scans all of Redis (and every memory store) for the person after an erase.

A person is found in two passes. First the stores keyed by conversation or message SID are
asked which of those are theirs (the participant mirror and the handoff records know their
conversations; the outbound queue, and Twilio if asked, the SIDs of their messages); then every
store is asked for what it holds under their pseudonym, their conversations and their
messages. An erase exports first (so that what it removes is known), removes everything but
the hashed consent state and its audit trail (a STOP must survive an erase), records the
erasure itself in the audit, and then has Redis rewrite its persistence files
(botkit/runtime/persistence.py). Every step is idempotent: an erase run twice removes nothing
the second time, and an erase cut short is finished by running it again.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from pydantic import BaseModel

from botkit.app.bot import Bot
from botkit.compliance.ledger.protocol import event_row, record_row
from botkit.contexts.privacy import PrivacyRequest, hook_name
from botkit.core.person import Found, Person, PersonalData
from botkit.logging import get_logger
from botkit.runtime.privacy_twilio import TwilioRecords
from botkit.runtime.stores import Stores

log = get_logger("privacy")

#: Where an erasure is recorded: one record per erasure, under the person's pseudonym.
ERASURES = "botkit:privacy:erasures"


class Erasure(BaseModel):
    """The audit entry an erase leaves: who (hashed), when, and how much went of each kind."""

    pseudonym: str
    at: float
    removed: dict[str, int]


class Privacy:
    """Export or erase one person across every store, the bot's hooks and, if asked, Twilio."""

    def __init__(
        self,
        stores: Stores,
        bot: Bot,
        *,
        twilio: TwilioRecords | None = None,
        audit_retention: float | None = None,
    ) -> None:
        self.stores = stores
        self.bot = bot
        # The bot's hooks read its records where these stores are, naming people alike.
        bot.keep_records(stores.records, stores.hasher.pseudonym)
        self.twilio = twilio
        self._erasures = stores.records.store(ERASURES)
        self._audit_retention = audit_retention

    def person(self, number: str) -> Person:
        """The person at ``number``; ValueError if it is not a phone number."""
        return self.stores.hasher.person(number)

    def _parts(self) -> dict[str, PersonalData]:
        """Every store that names people, by the name its part has in an export."""
        s = self.stores
        return {
            "sessions": s.sessions,
            "outbound_messages": s.queue,
            "whatsapp_windows": s.windows,
            "conversations": s.mirror,
            "handoffs": s.handoffs,
            "handoff_history": s.history,
            "delivery_statuses": s.statuses,
            "side_effects": s.effects,
            "timers": s.timers,
            "campaign_audiences": s.campaigns,
        }

    async def find(self, number: str) -> tuple[Person, dict[str, Found]]:
        """The person with their conversations and messages found, and what the stores that
        found them hold (reused by an export, so nothing is read twice)."""
        person = self.person(number)
        first = {
            "conversations": await self.stores.mirror.export_person(person),
            "handoffs": await self.stores.handoffs.export_person(person),
            "outbound_messages": await self.stores.queue.export_person(person),
        }
        conversations = {row["conversation_sid"] for row in first["conversations"]}
        # Their handoffs as a customer (not those they hold as an agent: their customers').
        conversations |= {
            row["conversation_sid"] for row in first["handoffs"] if "conversation_sid" in row
        }
        messages = {row["sid"] for row in first["outbound_messages"] if row.get("sid")}
        if self.twilio is not None:  # listed once, for the export or the erase too
            first["twilio_messages"] = await self.twilio.messages(person)
            messages |= {row["sid"] for row in first["twilio_messages"]}
        found = replace(
            person, conversations=tuple(sorted(conversations)), messages=tuple(sorted(messages))
        )
        return found, first

    async def export(self, number: str) -> dict[str, Any]:
        """One JSON-ready document of everything held about the person at ``number``."""
        person, first = await self.find(number)
        document: dict[str, Any] = {
            "number": person.number,
            "pseudonym": person.digest,
            "consent": await self._consent(person),
        }
        for name, store in self._parts().items():
            document[name] = first[name] if name in first else await store.export_person(person)
        request = PrivacyRequest(number=person.number, masked=person.masked)
        document["bot"] = {
            hook_name(hook): await hook(request) for hook in self.bot.privacy.exporters
        }
        if self.twilio is not None:
            document["twilio"] = {
                "messages": first["twilio_messages"],
                "conversations": list(person.conversations),
            }
        document["erasures"] = await self._erasure_rows(person)
        log.info("privacy export", person=person.masked)
        return document

    async def erase(self, number: str) -> dict[str, int]:
        """Delete everything held about the person at ``number`` but their hashed consent state
        and its audit trail; cancel their queued messages. How many records went, by kind."""
        person, first = await self.find(number)
        removed: dict[str, int] = {}
        if self.twilio is not None:
            # Twilio first: the participants to remove are the mirror's, erased below.
            removed["twilio_messages"] = await self.twilio.delete_messages(
                first["twilio_messages"]
            )
            removed["twilio_participants"] = await self.twilio.leave_conversations(
                person, first["conversations"]
            )
        for name, store in self._parts().items():
            removed[name] = await store.erase_person(person)
        request = PrivacyRequest(number=person.number, masked=person.masked)
        for hook in self.bot.privacy.erasers:
            removed[f"bot:{hook_name(hook)}"] = int(await hook(request) or 0)
        await self._record(person, removed)
        log.info("privacy erase", person=person.masked, removed=sum(removed.values()))
        return removed

    async def _consent(self, person: Person) -> dict[str, Any]:
        """The person's standing opt-outs and the audit trail of their consent changes (kept,
        hashed, by an erase: a STOP must outlive it)."""
        ledger = self.stores.ledger
        standing = [r for r in await ledger.entries() if r.number_hash == person.digest]
        return {
            "opted_out": [record_row(r) for r in standing],
            "history": [event_row(e) for e in await ledger.history(person.number)],
        }

    async def _record(self, person: Person, removed: dict[str, int]) -> None:
        at = time.time()
        entry = Erasure(pseudonym=person.digest, at=at, removed=removed)
        await self._erasures.put(
            f"{person.digest}:{at:.6f}",
            entry.model_dump_json(),
            self._audit_retention,
            owner=person.digest,
        )

    async def _erasure_rows(self, person: Person) -> Found:
        rows = []
        for key in await self._erasures.owned(person.digest):
            raw = await self._erasures.get(key)
            if raw is not None:
                rows.append(Erasure.model_validate_json(raw).model_dump(mode="json"))
        return rows


def is_empty(document: dict[str, Any]) -> bool:
    """Whether an export holds nothing about the person but their consent and erasures."""
    kept = {"number", "pseudonym", "consent", "erasures"}
    return not any(_holds(part) for name, part in document.items() if name not in kept)


def _holds(part: Any) -> bool:
    """Whether a part names anything: a part made only of empty lists, empty mappings and
    None (a bot hook's ``{"tickets": [], "pending_survey": None}``) holds nothing."""
    if isinstance(part, dict):
        return any(_holds(value) for value in part.values())
    if isinstance(part, list | tuple):
        return bool(part)
    return part is not None
