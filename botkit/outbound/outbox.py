"""The Outbox: where ctx.reply, ctx.send and bot.send hand their messages, and its one
implementation, which enqueues each message durably.

Handlers never call Twilio themselves: one seam means every message is rate-limited,
opt-out-checked and retried in one place.

``submit`` returns as soon as the job is in the queue; the outbound workers send it when the
sender's limits allow. The idempotency key decides identity: submitting the same key twice
(a handler re-run after a crash) returns the first job's handle and sends nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from botkit.outbound.job import Job, JobFactory
from botkit.outbound.message import OutboundHandle, OutboundMessage
from botkit.outbound.queue.protocol import OutboundQueue
from botkit.outbound.quiet_hours import QuietHours
from botkit.outbound.scheduling import held_until_us


@dataclass(frozen=True)
class PreparedJob:
    """A message's job, built and not queued yet, and when it may go (None: now)."""

    job: Job
    not_before_us: int | None


class QueueOutbox:
    def __init__(
        self,
        queue: OutboundQueue,
        factory: JobFactory,
        wake: Callable[[], None] | None = None,
        quiet: QuietHours | None = None,
    ) -> None:
        self.queue = queue
        self.factory = factory
        self._wake = wake
        self._quiet = quiet

    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        held = self.prepare(message)
        owner, created = await self.queue.enqueue(held.job, not_before_us=held.not_before_us)
        self.written()
        return OutboundHandle(id=owner, idempotency_key=message.idempotency_key, created=created)

    def prepare(self, message: OutboundMessage) -> PreparedJob:
        """The job for message, ready to be queued (by ``submit``, or with a turn's
        settlement: botkit/outbound/held_outbox.py)."""
        job = self.factory.build(
            message,
            lane=message.lane,
            check_consent=not message.compliance,
            valid_for=message.valid_for,
        )
        return PreparedJob(job, self._not_before(message))

    def written(self) -> None:
        """Jobs were queued: tell this process's idle worker at once."""
        if self._wake is not None:
            self._wake()

    def _not_before(self, message: OutboundMessage) -> int | None:
        """A message for later (``send_at``, held by botkit) and bulk sends queued during quiet
        hours wait in the delayed set, costing no sender time. (The outbound worker checks quiet
        hours again at send time, for jobs that were queued in daytime or held until later.)"""
        scheduled = held_until_us(message)
        if scheduled is not None:
            return scheduled
        quiet = self._quiet
        if quiet is None or (message.lane != "bulk" and not quiet.apply_to_replies):
            return None
        return quiet.held_until_us(message.to)

    async def close(self) -> None:
        return None


class Outbox(Protocol):
    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        """Take responsibility for delivering message; raise SendError if it cannot."""

    async def close(self) -> None:
        """Release connections."""


