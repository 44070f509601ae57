"""Campaign counts as they happen, written in batches: an outbound worker settles hundreds of
a campaign's messages a second, and one write per message would double its round trips.

Increments are kept in memory and flushed every ``every`` seconds (and on stop) with the minute
they happened in, so the counts lag by that much at most. A process that dies loses its last
unflushed increments: counts are a report, not the record (the outbound queue is).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict

from botkit.campaigns.protocol import CampaignStore
from botkit.core import clock
from botkit.core.tasks import cancel_and_wait, report_end
from botkit.logging import get_logger
from botkit.outbound.job import Job

log = get_logger("campaigns")


class CampaignCounter:
    def __init__(self, store: CampaignStore, every: float = 0.5) -> None:
        self.store = store
        self.every = every
        self._pending: dict[int, dict[str, Counter[str]]] = defaultdict(
            lambda: defaultdict(Counter)
        )
        self._task: asyncio.Task[None] | None = None

    def add(self, campaign_id: str, name: str, n: int = 1) -> None:
        if n:
            self._pending[int(clock.now() // 60)][campaign_id][name] += n

    def observe(self, job: Job, outcome: str) -> None:
        """How an outbound job ended (the outbound worker's ``outcomes``): counted against its
        campaign, if it has one, and as settled (no longer in line)."""
        campaign = job.message.campaign
        if campaign is not None:
            self.add(campaign, outcome)
            self.add(campaign, "settled")

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="campaign-counts")
        self._task.add_done_callback(report_end)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(lambda: defaultdict(Counter))
        for minute, increments in pending.items():
            await self.store.count(increments, minute)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.flush()
            except Exception:
                log.exception("campaign counts could not be written; they are lost")
