"""Taking a session's lock: how long to wait for it, how long it is held, how long a session
lives, and the backoff that waits for a busy one."""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import dataclass

from botkit.sessions.protocol import SessionLease, SessionLockTimeout, SessionStore


@dataclass(frozen=True)
class SessionPolicy:
    """``ttl``: how long a session lives after its last save; ``lease``: how long a lock is held
    before it lapses (renewed while a slow handler runs); ``wait``: how long to wait for a lock
    another message holds."""

    ttl: float
    lease: float
    wait: float


async def acquire_session(
    store: SessionStore, key: str, *, lease: float, wait: float
) -> SessionLease:
    """Wait for the session lock with jittered exponential backoff, up to ``wait`` seconds."""
    token = secrets.token_hex(16)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    delay = 0.002
    while True:
        held = await store.try_acquire(key, token, lease)
        if held is not None:
            return held
        if loop.time() >= deadline:
            raise SessionLockTimeout(f"session {key} stayed locked for {wait:.0f}s")
        await asyncio.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.1)


