"""The CampaignStore protocol: a campaign, its audience waiting to be fed to the outbound queue,
and its counts, kept compactly (one short row a recipient) so that a campaign of a million
people costs little while it waits.

Recipients are deduplicated on their pepper-HMAC (``digest``) when they are added, so an import
that is run again after a crash adds nobody twice. Feeding takes rows from the head of the
audience without removing them, queues their messages (each with an idempotency key made of the
campaign and the digest), then drops them with ``consume``: a feeder that dies in between leaves
them to the next, whose enqueues are recognised as the same messages. One feeder at a time holds
a campaign (``lease``), so two never consume the same rows.

Rows held for quiet hours wait in a set of their own, by when they may go, until ``due_held``
gives them back. Counts are kept in total and by minute (the report's chart).

Lifetimes: the audience rows (which hold the number, to send to it) exist only until they are
fed; a campaign that is done or canceled drops what is left of them at once. Everything else
(the campaign, its digests, its counts) expires ``FINISHED_TTL`` after it ended.

A person erased (``botkit privacy erase``) before their row was fed keeps no row: it becomes
``ERASED_ROW`` in place (the feeder may hold the head of the audience, so the rows keep their
places and their count) and the feeder skips it; their held row and their digest go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from botkit.campaigns.model import Campaign, Recipient, Report, State
from botkit.compliance.hashing import NumberHasher
from botkit.core.person import Found, Person

#: How long a finished campaign's record and counts are kept (30 days).
FINISHED_TTL = 30 * 24 * 3600
#: What an erased person's row becomes: no address, and skipped when fed.
ERASED_ROW = '{"erased": true}'


class CampaignStore(Protocol):
    async def create(self, campaign: Campaign) -> bool:
        """Keep a new campaign; False if one with its id exists."""

    async def get(self, campaign_id: str) -> Campaign | None: ...

    async def recent(self, limit: int = 50) -> list[Campaign]:
        """Campaigns, newest first."""

    async def sending(self) -> list[Campaign]:
        """The campaigns sending now, however many came after them: what the feeders feed,
        every few hundred milliseconds, so it reads only the campaigns not yet over."""

    async def set_state(self, campaign_id: str, state: State) -> Campaign | None:
        """Move the campaign to ``state`` (None: no such campaign). Done and canceled are
        final: their remaining rows are dropped, and they no longer change."""

    async def add(self, campaign_id: str, rows: Sequence[tuple[str, str]]) -> int:
        """Add (digest, row) pairs whose digest the campaign has not seen; how many were new."""

    async def lease(self, campaign_id: str, owner: str, ttl: float) -> bool:
        """Take or renew the right to feed the campaign for ``ttl`` seconds."""

    async def head(self, campaign_id: str, limit: int) -> list[str]:
        """The next rows to feed, not removed."""

    async def consume(self, campaign_id: str, owner: str, count: int) -> bool:
        """Drop the first ``count`` rows (fed), if ``owner`` still holds the lease."""

    async def hold(self, campaign_id: str, rows: Mapping[str, float]) -> None:
        """Keep rows aside until their time (rule-clock seconds): quiet hours."""

    async def due_held(self, campaign_id: str, now: float, limit: int) -> list[str]:
        """Held rows whose time has come, not removed."""

    async def release(self, campaign_id: str, owner: str, rows: Sequence[str]) -> None:
        """Drop held rows (fed), if ``owner`` still holds the lease."""

    async def remaining(self, campaign_id: str) -> int:
        """Rows still to feed, held ones included."""

    async def count(self, increments: Mapping[str, Mapping[str, int]], minute: int) -> None:
        """Add to campaigns' counts (campaign -> count -> n), in total and at ``minute``."""

    async def counts(self, campaign_id: str) -> dict[str, int]:
        """The campaign's counts in total (what the feeder and /metrics need, read often: the
        report's by-minute series is for the people who look at it)."""

    async def report(self, campaign_id: str) -> Report | None: ...

    async def export_person(self, person: Person) -> Found:
        """The person's rows still waiting in any campaign's audience (held ones too)."""

    async def erase_person(self, person: Person) -> int:
        """Make those rows ``ERASED_ROW``, drop their held rows and their digest; how many
        rows went."""


def row_of(raw: str, person: Person) -> Recipient | None:
    """The recipient of an audience row, if the row is ``person``'s."""
    if raw == ERASED_ROW:
        return None
    recipient = Recipient.model_validate_json(raw)
    return recipient if person.is_address(recipient.to) else None


#: How much of a recipient's pepper-HMAC (hex) a campaign names them by in its keys: 80 bits.
DIGEST_CHARS = 20


def digest_of(hasher: NumberHasher, to: str) -> str:
    """How a campaign names a recipient in keys (its ``seen`` set, its messages' keys)."""
    return hasher.digest(to)[:DIGEST_CHARS]


def audience_digest(person: Person) -> str:
    """The same name for a person an erase or export is about (``digest_of`` their number)."""
    return person.digest[:DIGEST_CHARS]


def person_rows(campaign_id: str, rows: Sequence[str], held: Mapping[str, float],
                person: Person) -> Found:
    """What an export shows of the person's rows in one campaign's audience."""
    found: Found = []
    for raw in rows:
        recipient = row_of(raw, person)
        if recipient is not None:
            found.append({"campaign": campaign_id, **recipient.model_dump(mode="json")})
    for raw, until in held.items():
        recipient = row_of(raw, person)
        if recipient is not None:
            found.append(
                {"campaign": campaign_id, **recipient.model_dump(mode="json"), "held_until": until}
            )
    return found
