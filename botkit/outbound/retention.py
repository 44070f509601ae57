"""How long a dead letter keeps a person's data, and the sweep that enforces it.

A dead letter is kept whole for ``whole`` seconds (BOTKIT_DEAD_LETTER_RETENTION, 7 days), long
enough for an operator to see why it failed and replay it. After that only a redacted copy
stays (the reason, Twilio's error, the sender, the recipient masked: queue/privacy.py), and
after ``redacted`` seconds (BOTKIT_REDACTED_DEAD_LETTER_RETENTION) nothing. Every outbound
worker sweeps now and then; the sweep is idempotent, so several workers sweeping at once only
repeat each other's work.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from botkit.logging import get_logger
from botkit.outbound.queue.protocol import OutboundQueue

log = get_logger("retention")


@dataclass(frozen=True)
class DeadLetterRetention:
    whole: float
    redacted: float
    #: Seconds between sweeps.
    every: float = 600.0

    async def sweep(self, queue: OutboundQueue, now: float | None = None) -> int:
        """Redact and drop what is past its retention now; how many dead letters changed."""
        now_us = int((time.time() if now is None else now) * 1_000_000)
        redact_before = now_us - int(self.whole * 1_000_000)
        drop_before = now_us - int(max(self.redacted, self.whole) * 1_000_000)
        return await queue.redact_dead_letters(redact_before, drop_before)

    async def run(self, queue: OutboundQueue) -> None:
        """Sweep at once, then every ``every`` seconds, until cancelled. A failed sweep (Redis
        away for a moment) is logged and tried again at the next one."""
        while True:
            try:
                changed = await self.sweep(queue)
                if changed:
                    log.info("dead letters past retention redacted or dropped", count=changed)
            except Exception as exc:
                log.warning("dead-letter retention sweep failed", error=str(exc))
            await asyncio.sleep(self.every)
