"""The InboundQueue protocol: accepted webhooks, deduplicated, waiting for a worker.

Acceptance (dedup + enqueue) is a single atomic step, so a webhook that got its 200 is either
in the queue or was a duplicate of one that is; nothing in between can be lost.

An event that names its session (a 1:1 message) has that session locked and loaded as it is
taken, and saved and unlocked as it is finished: the queue and the session store share a
backend and, on Redis, a slot (botkit/sessions/shards.py), which makes each step one round trip.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Protocol

from botkit.outbound.held_outbox import HeldReplies
from botkit.sessions.protocol import SessionLease, SessionSave, SessionStore

#: A finish that carries no replies.
NONE = HeldReplies()


class RepliesNotQueued(Exception):
    """A finish could not queue a reply its handler held: nothing was finished, and the event
    runs again once its lease lapses (its replies keep their keys, so none goes twice)."""


async def release_unsaved(sessions: SessionStore, save: SessionSave | None) -> None:
    """A finish failed: unlock the session unsaved, so that the event's next run need not wait
    out the lock's lease (best effort: the lease lapses anyway if Redis is gone)."""
    if save is None:
        return
    with contextlib.suppress(Exception):
        await sessions.commit(save.lease, None, save.ttl)


@dataclass(frozen=True)
class Delivery:
    """One queued event handed to a worker; finish() it once handled.

    ``session``: the event's session, locked and loaded as it was taken. None when the event
    names none, when another message holds it (the handler then waits for it the usual way),
    and for events reclaimed from a worker that died."""

    id: str
    payload: str
    session: SessionLease | None = None


class InboundQueue(Protocol):
    async def prepare(self) -> None:
        """Create what the queue needs before the first accept (Redis: the consumer groups, from
        the streams' start, so nothing accepted is skipped). Idempotent."""

    async def accept(
        self, dedup_id: str, payload: str, dedup_ttl: float, session_key: str | None = None
    ) -> bool:
        """Enqueue payload unless dedup_id was accepted within dedup_ttl; True if enqueued.
        ``session_key``: the session the event will be handled with, if known now."""

    async def take(
        self, consumer: str, count: int, wait: float, session_lease: float
    ) -> list[Delivery]:
        """Up to count new events, waiting up to ``wait`` seconds for the first; their sessions
        are locked for ``session_lease`` seconds."""

    async def reclaim(self, consumer: str, idle: float, count: int) -> list[Delivery]:
        """Events another consumer took but left unfinished for ``idle`` seconds (it crashed)."""

    async def touch(self, consumer: str, delivery: Delivery) -> None:
        """Tell the queue a long-running event is still being worked on."""

    async def finish(
        self, delivery: Delivery, save: SessionSave | None = None, replies: HeldReplies = NONE
    ) -> bool:
        """Remove a handled event for good, and with ``save`` (of the delivery's own session)
        save and unlock that session in the same step. False when the session's lock was lost
        and the save dropped; the event is finished either way. ``replies``: what its handler
        held, queued (in their outbox's queue) before the event is finished, in the same round
        trip where the backends allow it; RepliesNotQueued (nothing finished) if one was not."""

    async def backlog(self) -> int:
        """Events accepted and not yet finished (queued or in flight)."""

    async def close(self) -> None:
        """Release what the queue holds besides the shared client (Redis: its pub/sub
        connection)."""
