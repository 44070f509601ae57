"""Sends that Twilio accepted, recorded in the queue a few at a time instead of one by one.

At a thousand sends a second a round trip per completion is a large share of a worker's CPU.
Completions wait here for at most ``delay`` seconds (or until ``size`` have gathered) and go in
one call. A worker killed before a flush loses nothing: the lease lapses and the reclaimed job
is reconciled against Twilio's message list before any second send. Nobody waits for a flush:
a send is over once Twilio took it, so its concurrency slot is free for the next.
"""

from __future__ import annotations

import asyncio
import contextlib

from botkit.logging import get_logger
from botkit.outbound.queue.protocol import Claim, OutboundQueue

log = get_logger("dispatch")

#: How long a completion may wait for its batch: a sid is found in the queue at most this long
#: after Twilio answered (plus the round trip), which a status callback can beat.
SETTLE_WITHIN = 0.02
#: Before a failed batch is tried once more.
RETRY_PAUSE = 0.05


class Settlements:
    def __init__(
        self, queue: OutboundQueue, *, delay: float = SETTLE_WITHIN, size: int = 64
    ) -> None:
        self.queue = queue
        self.delay = delay
        self.size = size
        self._pending: list[tuple[Claim, str, asyncio.Future[bool]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    def complete(self, claim: Claim, sid: str) -> asyncio.Future[bool]:
        """Record that Twilio took the claim's job as sid; resolves to False if the lease was
        lost to another worker meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        self._pending.append((claim, sid, future))
        if len(self._pending) >= self.size:
            self._start_flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.delay, self._start_flush)
        return future

    def _start_flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        task = asyncio.get_running_loop().create_task(self._flush(batch))
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _flush(self, batch: list[tuple[Claim, str, asyncio.Future[bool]]]) -> None:
        try:
            results = await self._complete([(claim, sid) for claim, sid, _ in batch])
        except Exception as exc:
            log.warning("could not record sends; their leases will lapse", error=repr(exc))
            results = [False] * len(batch)
        for (claim, sid, future), done in zip(batch, results, strict=True):
            if not done:
                log.warning(
                    "sent, but its lease had lapsed: another worker may send it again unless "
                    "it finds the send in Twilio's message list",
                    job=claim.job.id,
                    sid=sid,
                )
            if not future.done():
                future.set_result(done)

    async def _complete(self, done: list[tuple[Claim, str]]) -> list[bool]:
        """Once more after a failure: the first call may have been recorded with its answer lost
        (a process stalled past its Redis read timeout), and completing again with the same sid
        is safe; without it the jobs would wait for their leases to lapse and be reclaimed."""
        try:
            return await self.queue.complete_many(done)
        except Exception:
            await asyncio.sleep(RETRY_PAUSE)
            return await self.queue.complete_many(done)

    async def drain(self) -> None:
        """Flush what is waiting and wait for every flush (shutdown)."""
        self._start_flush()
        if self._flushes:
            with contextlib.suppress(Exception):
                await asyncio.gather(*self._flushes)
