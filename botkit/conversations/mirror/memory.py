"""ParticipantMirror in process memory, for development and tests; the Redis twin's rules exactly.

Entries are the same JSON strings Redis holds (mirror_entries.py), and each conversation
expires as a whole ``ttl`` after its last write, as the Redis keys do. One process only: a
second ``botkit run`` would keep its own copy, which is why production uses Redis.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from botkit.conversations.mirror.entries import (
    DEFAULT_MIRROR_TTL,
    DEFAULT_TOMBSTONE_TTL,
    author_key,
    decode_entry,
    entry_author,
    entry_body,
    entry_order,
    entry_version,
    in_order,
    reorder,
    seconds,
    version_of,
    with_order,
)
from botkit.conversations.mirror.protocol import erase_participations
from botkit.conversations.models import Participant
from botkit.core.person import Found, Person, Pseudonym


@dataclass
class _Conversation:
    entries: dict[str, str] = field(default_factory=dict)
    #: author's pseudonym -> participant SID; the first participant with it wins.
    who: dict[str, str] = field(default_factory=dict)
    #: tombstones: participant SID -> when it expires (Unix time)
    removed: dict[str, float] = field(default_factory=dict)
    #: the last order number handed out
    seq: int = 0
    synced: bool = False
    gone_until: float = 0.0
    expires_at: float = 0.0


class MemoryParticipantMirror:
    def __init__(
        self,
        *,
        pseudonym: Pseudonym,
        tombstone_ttl: float = DEFAULT_TOMBSTONE_TTL,
        ttl: float = DEFAULT_MIRROR_TTL,
    ) -> None:
        self._pseudonym = pseudonym
        self._tombstone_ttl = tombstone_ttl
        self._ttl = max(ttl, tombstone_ttl)
        self._conversations: dict[str, _Conversation] = {}

    async def apply_added(self, participant: Participant) -> bool:
        now = time.time()
        conversation = self._writable(participant.conversation_sid, now)
        if conversation is None or participant.sid in conversation.removed:
            return False
        old = conversation.entries.get(participant.sid)
        if old is not None and entry_version(old) > version_of(participant):
            return False
        if old is not None:
            n = entry_order(old)
        else:
            conversation.seq += 1
            n = conversation.seq
        conversation.entries[participant.sid] = with_order(
            entry_body(participant, self._pseudonym), n
        )
        if participant.author:
            conversation.who.setdefault(author_key(participant, self._pseudonym), participant.sid)
        self._touch(conversation, now)
        return True

    async def apply_removed(self, conversation_sid: str, participant_sid: str) -> bool:
        now = time.time()
        conversation = self._writable(conversation_sid, now)
        if conversation is None:
            return False
        conversation.removed[participant_sid] = now + self._tombstone_ttl
        old = conversation.entries.pop(participant_sid, None)
        if old is not None:
            author = entry_author(old)
            if author and conversation.who.get(author) == participant_sid:
                del conversation.who[author]
                heir = next(
                    (
                        sid
                        for sid, raw in conversation.entries.items()
                        if entry_author(raw) == author
                    ),
                    None,
                )
                if heir is not None:
                    conversation.who[author] = heir
        self._touch(conversation, now)
        return old is not None

    async def replace_all(
        self,
        conversation_sid: str,
        participants: Iterable[Participant],
        *,
        as_of: datetime | None = None,
    ) -> None:
        now = time.time()
        conversation = self._writable(conversation_sid, now)
        if conversation is None:
            return
        snapshot = {p.sid: p for p in participants}
        cutoff = seconds(as_of)
        extras = sorted(
            (
                (entry_order(raw), sid, raw)
                for sid, raw in conversation.entries.items()
                if sid not in snapshot and cutoff is not None and entry_version(raw) >= cutoff
            ),
        )
        old_entries = conversation.entries
        conversation.entries = {}
        n = 0
        for sid, participant in snapshot.items():
            if sid in conversation.removed:
                continue
            n += 1
            old = old_entries.get(sid)
            if old is None or entry_version(old) <= version_of(participant):
                conversation.entries[sid] = with_order(entry_body(participant, self._pseudonym), n)
            else:
                conversation.entries[sid] = reorder(old, n)
        for _, sid, raw in extras:
            n += 1
            conversation.entries[sid] = reorder(raw, n)
        conversation.seq = n
        conversation.who = {}
        for sid, raw in conversation.entries.items():
            author = entry_author(raw)
            if author:
                conversation.who.setdefault(author, sid)
        conversation.synced = True
        self._touch(conversation, now)

    async def forget(self, conversation_sid: str) -> None:
        now = time.time()
        self._conversations[conversation_sid] = _Conversation(
            gone_until=now + self._tombstone_ttl, expires_at=now + self._tombstone_ttl
        )

    async def participants(self, conversation_sid: str) -> list[Participant]:
        conversation = self._live(conversation_sid, time.time())
        if conversation is None:
            return []
        return in_order(conversation.entries.values())

    async def find(self, conversation_sid: str, key: str) -> Participant | None:
        conversation = self._live(conversation_sid, time.time())
        if conversation is None:
            return None
        raw = conversation.entries.get(key)
        author = self._pseudonym(key)
        if raw is None and author in conversation.who:
            raw = conversation.entries.get(conversation.who[author])
        return decode_entry(raw) if raw is not None else None

    async def export_person(self, person: Person) -> Found:
        now = time.time()
        found = []
        for sid in sorted(self._conversations):
            conversation = self._live(sid, now)
            if conversation is None:
                continue
            found += [
                {"conversation_sid": sid, "participant": decode_entry(raw).model_dump(mode="json")}
                for raw in conversation.entries.values()
                if entry_author(raw) == person.digest
            ]
        return found

    async def erase_person(self, person: Person) -> int:
        return await erase_participations(self, person)

    async def synced(self, conversation_sid: str) -> bool:
        conversation = self._live(conversation_sid, time.time())
        return conversation is not None and conversation.synced

    def _live(self, conversation_sid: str, now: float) -> _Conversation | None:
        conversation = self._conversations.get(conversation_sid)
        if conversation is not None and conversation.expires_at <= now:
            del self._conversations[conversation_sid]
            return None
        return conversation

    def _writable(self, conversation_sid: str, now: float) -> _Conversation | None:
        """The conversation's record for a write (created if new); None while it is forgotten.
        Expired tombstones are dropped first, as the Redis scripts do."""
        conversation = self._live(conversation_sid, now)
        if conversation is None:
            conversation = self._conversations[conversation_sid] = _Conversation()
        if conversation.gone_until > now:
            return None
        conversation.removed = {
            sid: until for sid, until in conversation.removed.items() if until > now
        }
        return conversation

    def _touch(self, conversation: _Conversation, now: float) -> None:
        conversation.expires_at = now + self._ttl
