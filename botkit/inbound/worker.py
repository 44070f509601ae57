"""Workers that drain the inbound queue: the far side of durable acceptance.

The webhook answers Twilio as soon as a message is queued, so a slow handler can never make
Twilio time out. Workers take events, run them, and only then finish them; an event whose
worker died is reclaimed by another after the lease, so every accepted message runs at least
once. Events are user messages (run through the pipeline), status callbacks (applied by the
status tracker) and Conversations post-events (botkit/inbound/conversation_pipeline.py); see
botkit/inbound/events.py.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable

from pydantic import ValidationError

from botkit.core.renewals import Renewals
from botkit.core.tasks import Outage, cancel_and_wait, ended, report_end
from botkit.inbound.events import ConversationEvent, InboundEvent, StatusEvent, decode_event
from botkit.inbound.pipeline import Processor
from botkit.inbound.queue.protocol import NONE, Delivery, InboundQueue
from botkit.logging import get_logger
from botkit.sessions.protocol import SessionSave

log = get_logger("inbound")

#: Applies a status callback (botkit.inbound.status_tracker.StatusTracker.process).
StatusProcessor = Callable[[StatusEvent], Awaitable[str]]
#: Handles a Conversations post-event
# (botkit.inbound.conversation_pipeline.ConversationPipeline.process).
ConversationProcessor = Callable[[ConversationEvent], Awaitable[str]]


async def _no_status_processor(event: StatusEvent) -> str:
    log.error("no status processor; status callback dropped", sid=event.callback.message_sid)
    return "dropped"


async def _no_conversation_processor(event: ConversationEvent) -> str:
    log.error("no conversation processor; conversation event dropped", entry=event.dedup_id)
    return "dropped"


class InboundWorker:
    def __init__(
        self,
        queue: InboundQueue,
        process: Processor,
        *,
        concurrency: int,
        lease: float,
        session_lease: float = 30.0,
        process_status: StatusProcessor = _no_status_processor,
        process_conversation: ConversationProcessor = _no_conversation_processor,
    ) -> None:
        self.queue = queue
        self.process = process
        self.process_status = process_status
        self.process_conversation = process_conversation
        self.concurrency = concurrency
        self.lease = lease
        #: How long a session taken with its message stays locked (BOTKIT_LOCK_LEASE).
        self.session_lease = session_lease
        self.consumer = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._slots = asyncio.Semaphore(concurrency)
        self._running: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        # Tell the queue a slow event is still being worked on, so it is not reclaimed.
        self._touches: Renewals[Delivery] = Renewals(
            lease / 3, lambda delivery: queue.touch(self.consumer, delivery)
        )

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._take_loop(), name="inbound-take"),
            asyncio.create_task(self._reclaim_loop(), name="inbound-reclaim"),
        ]
        for task in self._loops:
            task.add_done_callback(report_end)

    def trouble(self) -> str | None:
        """Why this worker is not handling events, or None (see botkit.core.tasks.ended)."""
        return None if self._stopping else ended(self._loops)

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking work and let events in flight finish (unfinished ones get reclaimed)."""
        self._stopping = True
        await cancel_and_wait(self._loops)
        if self._running:
            await asyncio.wait(self._running, timeout=grace)
        for task in self._running:
            task.cancel()

    async def _take_loop(self) -> None:
        outage = Outage("inbound queue")
        while not self._stopping:
            free = await self._claim_free_slots()
            try:
                batch = await self.queue.take(
                    self.consumer, free, wait=1.0, session_lease=self.session_lease
                )
                outage.over()
            except Exception:
                batch = []
                await outage.failed()
            for _ in range(free - len(batch)):
                self._slots.release()
            for delivery in batch:
                self._spawn(delivery)

    async def _claim_free_slots(self) -> int:
        """Wait for one free slot, then take every other free one: under load, one round trip
        to the queue fetches a whole batch."""
        await self._slots.acquire()
        claimed = 1
        while not self._slots.locked():
            await self._slots.acquire()
            claimed += 1
        return claimed

    async def _reclaim_loop(self) -> None:
        while not self._stopping:
            await asyncio.sleep(max(self.lease / 4, 0.05))
            try:
                stale = await self.queue.reclaim(self.consumer, self.lease, self.concurrency)
            except Exception:
                log.exception("inbound reclaim failed")
                continue
            for delivery in stale:
                log.warning("reclaimed an unfinished inbound event", entry=delivery.id)
                await self._slots.acquire()
                self._spawn(delivery)

    def _spawn(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._handle(delivery))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _handle(self, delivery: Delivery) -> None:
        with self._touches.hold(delivery):
            await self._handle_held(delivery)

    async def _handle_held(self, delivery: Delivery) -> None:
        event: InboundEvent | None
        try:
            event = decode_event(delivery.payload)
        except ValidationError:
            log.error("dropping an unreadable inbound event", entry=delivery.id)
            event = None
        # A session locked with the event and not used is released with its acknowledgement.
        save = SessionSave(delivery.session, None, 0.0) if delivery.session else None
        replies = NONE
        try:
            if isinstance(event, StatusEvent):
                await self.process_status(event)
            elif isinstance(event, ConversationEvent):
                await self.process_conversation(event)
            elif event is not None:
                handled = await self.process(event, delivery.session)
                save, replies = handled.save, handled.replies
        except Exception:
            # Left unfinished on purpose: the lease expires and another attempt is made.
            log.exception("inbound event failed; it will be retried", entry=delivery.id)
            return
        finally:
            self._slots.release()
        try:
            if not await self.queue.finish(delivery, save, replies):
                log.error("session lock lost; session update dropped", entry=delivery.id)
        except Exception:
            log.exception("could not finish inbound event", entry=delivery.id)
