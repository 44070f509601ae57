"""The SessionStore protocol: per-conversation state, loaded and saved under a lease lock.

Lock and load are one operation, and so are save and unlock, because that keeps a message's
session handling to two storage round trips and leaves no window between them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from botkit.core.person import Found, Person


@dataclass
class SessionLease:
    """A held session lock and the data loaded with it. ``data`` is the handler's to mutate."""

    key: str
    token: str
    data: dict[str, Any] = field(default_factory=dict)
    #: When the lock was taken (time.monotonic()): it must be renewed within a lease of that.
    taken_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class SessionSave:
    """What to do with a held session when its message is done: save ``data`` (None: discard the
    handler's changes) for ``ttl`` seconds, and release the lock either way."""

    lease: SessionLease
    data: dict[str, Any] | None
    ttl: float


class SessionStore(Protocol):
    async def try_acquire(self, key: str, token: str, lease: float) -> SessionLease | None:
        """Take the lock and load the data, or return None when someone else holds the lock."""

    async def renew(self, lease: SessionLease, seconds: float) -> bool:
        """Extend a held lock; False when it was lost (expired and taken by another owner)."""

    async def commit(self, lease: SessionLease, data: dict[str, Any] | None, ttl: float) -> bool:
        """Save data (unless None) and release the lock, only if this lease still owns it."""

    async def get(self, key: str) -> dict[str, Any] | None:
        """Read a session without locking it (operators, tests)."""

    async def export_person(self, person: Person) -> Found:
        """Every session of ``person`` (sessions/keys.belongs_to), with its key and data."""

    async def erase_person(self, person: Person) -> int:
        """Delete those sessions (and their locks: a handler that holds one loses its save);
        how many sessions had data."""


class SessionLockTimeout(TimeoutError):
    """The session stayed locked by another message for longer than we were willing to wait."""


def encode_session(data: dict[str, Any]) -> str:
    """Sessions are JSON so that any process, in any language, can read them."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def decode_session(raw: str | bytes | None) -> dict[str, Any]:
    if raw is None:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


