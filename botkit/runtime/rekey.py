"""The one-time re-key of data stored before keys named people by pseudonym (issue 18).

Before, these keys held a phone number or chat identity itself; ``botkit privacy migrate``
moves each to its pseudonym key, keeping value and remaining lifetime:

- a session (lock, data, expiry), whose key ended with the user's number, or with a
  participant's address or identity: moved to the same key with the pseudonym, in the shard
  that key picks (a session locked by a running handler is left for a later run);
- a WhatsApp window ``botkit:wa-window:<sender>:<user>``;
- a field of a mirror's author index ``{...:conv:<CH>}:who``;
- a field of a sender's virtual-time hash ``...:out:<bot>:vt:<sender>``: dropped rather than
  moved, since it only spaces a recipient's next message and is rebuilt by it;
- the handoff's agent keys: an agent's held set, presence field and notices thread
  (botkit/runtime/rekey_agents.py).

Anything already keyed by pseudonym (64 hex characters) is left alone, so the migration can run
any number of times, against a live bot, and counts only what it changed. Values that still hold
a number (a dead letter, a handoff record's customer) are not keys: their retention removes them
(docs/privacy.md). Memory stores need no migration: they never outlive their process.
"""

from __future__ import annotations

import re
from typing import Any

from botkit.core.person import Pseudonym, is_pseudonym
from botkit.core.redis_client import RedisClient
from botkit.core.redis_scan import glob_escape, scan_keys
from botkit.runtime.rekey_agents import AgentRekey
from botkit.sessions.keys import SEPARATOR
from botkit.sessions.shards import SESSION_KINDS, Shards

#: ``<sender>:<user>``, each an address with or without ``whatsapp:``.
_WINDOW = re.compile(r"^(?P<sender>(?:whatsapp:)?[^:]+):(?P<user>(?:whatsapp:)?[^:]+)$")


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


class Rekey:
    def __init__(self, redis: RedisClient, shards: Shards, pseudonym: Pseudonym) -> None:
        self._redis = redis
        self._shards = shards
        self._pseudonym = pseudonym

    async def run(self) -> dict[str, int]:
        """Every kind re-keyed; how many keys (or fields) of each changed."""
        return {
            "sessions": await self.sessions(),
            "whatsapp_windows": await self.windows(),
            "mirror_authors": await self.mirror_authors(),
            "vt_fields": await self.vt_fields(),
            **await AgentRekey(self._redis, self._shards.namespace, self._pseudonym).run(),
        }

    def _renamed(self, session_key: str) -> str | None:
        """The pseudonym key of an old session key, or None if it needs none."""
        parts = session_key.split(SEPARATOR)
        one_to_one = len(parts) == 4 and parts[1] != "conversation"
        participant = len(parts) == 5 and parts[3] == "participant"
        if not (one_to_one or participant) or is_pseudonym(parts[-1]):
            return None
        return SEPARATOR.join([*parts[:-1], self._pseudonym(parts[-1])])

    async def sessions(self) -> int:
        shards = self._shards
        base = glob_escape(f"{shards.prefix}:inbound:{shards.namespace}")
        moved = 0
        for stored in await scan_keys(self._redis, "{" + base + "*}:session:*"):
            key = shards.session_key_of(stored)
            new = None if key is None else self._renamed(key)
            if key is None or new is None:
                continue
            old_keys, new_keys = shards.session_keys(key), shards.session_keys(new)
            if await self._redis.exists(old_keys[0]):
                continue  # a handler holds it now: a later run moves it
            for kind, old, target in zip(SESSION_KINDS, old_keys, new_keys, strict=True):
                if kind != "lock":
                    await self._move(old, target)
            moved += 1
        return moved

    async def windows(self) -> int:
        prefix = "botkit:wa-window:"
        moved = 0
        for key in await scan_keys(self._redis, glob_escape(prefix) + "*"):
            found = _WINDOW.match(key.removeprefix(prefix))
            if found is None or is_pseudonym(found["user"]):
                continue
            user = self._pseudonym(found["user"])
            moved += await self._move(key, f"{prefix}{found['sender']}:{user}")
        return moved

    async def mirror_authors(self) -> int:
        moved = 0
        for key in await scan_keys(self._redis, "{*:conv:*}:who"):
            index: dict[Any, Any] = await self._redis.hgetall(key)
            for raw_author, sid in index.items():
                author = _text(raw_author)
                if is_pseudonym(author):
                    continue
                await self._redis.hset(key, self._pseudonym(author), sid)
                await self._redis.hdel(key, author)
                moved += 1
        return moved

    async def vt_fields(self) -> int:
        dropped = 0
        for key in await scan_keys(self._redis, "*:out:*:vt:*"):
            fields: list[Any] = await self._redis.hkeys(key)
            old = [f for f in map(_text, fields) if f and not is_pseudonym(f)]
            if old:
                dropped += int(await self._redis.hdel(key, *old))
        return dropped

    async def _move(self, old: str, new: str) -> int:
        """Copy ``old`` to ``new`` with its remaining lifetime, then delete it (DUMP/RESTORE:
        the two may be in different slots of a cluster, where RENAME cannot go)."""
        dumped = await self._redis.dump(old)
        if dumped is None:
            return 0
        left = int(await self._redis.pttl(old))
        await self._redis.restore(new, max(left, 0), dumped, replace=True)
        await self._redis.delete(old)
        return 1
