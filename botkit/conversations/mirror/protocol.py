"""The ParticipantMirror protocol: each conversation's participants, readable without an API call.

Handlers ask "who is in this conversation?" and "who wrote this?" on every message; asking
Twilio each time would cost a round trip and eat the rate limit. So a copy is kept, written from
two directions that arrive in no particular order:

- the client's own API calls (``ConversationsClient`` applies what Twilio answered), and
- Conversations webhooks (onParticipantAdded/Updated -> ``apply_added``, onParticipantRemoved ->
  ``apply_removed``, a fresh API listing -> ``replace_all``).

Rules that make that safe, in both implementations (the same tests run against each):

- Idempotent: applying an event twice changes nothing the second time.
- Removal wins. Participant SIDs are never reused, so ``apply_removed`` leaves a tombstone and a
  later ``apply_added`` for that SID (a delayed onParticipantAdded) is ignored. Tombstones live
  ``tombstone_ttl`` (1 hour by default), far longer than webhooks arrive out of order.
- Newer wins. Each entry keeps a version, the participant's DateUpdated (or DateCreated) in
  whole seconds: the API reports whole seconds and webhooks milliseconds, so comparing finer
  would let an API answer lose to an older webhook. A write older than the stored entry is
  ignored; an equal one is applied (the later arrival wins the tie).
- A deleted conversation (``forget``) ignores late events for ``tombstone_ttl`` too.
- ``replace_all`` is a snapshot: it drops entries the snapshot lacks (unless they are newer than
  ``as_of``, i.e. were added while the listing ran), never resurrects a tombstoned SID, and
  marks the conversation ``synced``: from then on the mirror holds all its participants.

``synced`` matters to readers: a conversation the bot did not create and never listed may be
only partly known. ``ConversationsClient.sync_participants`` lists it once and replaces it.
Entries expire ``ttl`` after the conversation's last write (30 days by default), so mirrors of
forgotten conversations do not pile up; a reader then sees ``synced`` false and lists again.

Implementations: ``MemoryParticipantMirror`` (memory.py) and ``RedisParticipantMirror``
(redis.py, which documents its keys); the stored form they share is in entries.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from botkit.conversations.mirror.entries import DEFAULT_MIRROR_TTL, DEFAULT_TOMBSTONE_TTL
from botkit.conversations.models import Participant
from botkit.core.person import Found, Person


class ParticipantMirror(Protocol):
    async def apply_added(self, participant: Participant) -> bool:
        """Store an added or updated participant; False when ignored (removed, conversation
        forgotten, or older than what is stored)."""

    async def apply_removed(self, conversation_sid: str, participant_sid: str) -> bool:
        """Remove a participant and tombstone its SID; True if it was present."""

    async def replace_all(
        self,
        conversation_sid: str,
        participants: Iterable[Participant],
        *,
        as_of: datetime | None = None,
    ) -> None:
        """Make the conversation's participants this snapshot (see the module docstring);
        ``as_of`` is when the listing started."""

    async def forget(self, conversation_sid: str) -> None:
        """The conversation was deleted: drop its participants and ignore late events."""

    async def participants(self, conversation_sid: str) -> list[Participant]:
        """The known participants in Twilio's order (creation order; see mirror_entries)."""

    async def find(self, conversation_sid: str, key: str) -> Participant | None:
        """A participant by SID, chat identity or phone address (a message's Author)."""

    async def synced(self, conversation_sid: str) -> bool:
        """Whether the mirror holds every participant (created by us, or listed since)."""

    async def export_person(self, person: Person) -> Found:
        """The person's participations: ``{"conversation_sid", "participant"}`` each, found by
        the author index, which names them by pseudonym."""

    async def erase_person(self, person: Person) -> int:
        """Mark them removed (a tombstone keeps only the participant's SID); how many."""


__all__ = [
    "DEFAULT_MIRROR_TTL",
    "DEFAULT_TOMBSTONE_TTL",
    "ParticipantMirror",
]


async def erase_participations(mirror: ParticipantMirror, person: Person) -> int:
    """Erase what ``export_person`` finds, as if Twilio had removed each participant (both twins
    erase this way, so a tombstone keeps only the SIDs)."""
    erased = 0
    for row in await mirror.export_person(person):
        sid = row["participant"]["sid"]
        erased += int(await mirror.apply_removed(row["conversation_sid"], sid))
    return erased
