"""The outbox of one turn: a 1:1 message's replies, queued with the message's settlement.

A handler that replies costs the queue one round trip per reply when each is queued as it is
sent. Held instead, the replies go with the session save and the message's acknowledgement in
one round trip (botkit/inbound/queue), and since that step only finishes the message once its
replies are queued, a crash in between still runs the handler again and sends nothing twice
(the replies' keys come from the MessageSid).

A slow handler must not keep its first reply back ("Looking up your order..."): once a turn has
held a message for ``hold`` seconds, what it holds is queued at once, and so is everything it
sends after. Only the messages numbered by the turn itself are held (their keys start with the
turn's key), so a job id can be derived from the key: the handle a handler gets names the job
that will exist, whoever queues it.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field

from botkit.core.script_call import ScriptCall
from botkit.outbound.message import OutboundHandle, OutboundMessage
from botkit.outbound.outbox import PreparedJob, QueueOutbox


@dataclass(frozen=True)
class HeldReplies:
    """What a turn held until its end, and the outbox whose queue takes it: queued with the
    turn's settlement (``steps`` where that can share its round trip, else ``enqueue`` first),
    then ``written``."""

    jobs: tuple[PreparedJob, ...] = ()
    outbox: QueueOutbox | None = None

    def steps(self) -> list[ScriptCall] | None:
        """The enqueues as script calls for the settlement's own round trip on the same Redis
        (the runtime builds the inbound and outbound queues on one client); None when there is
        nothing to queue or the queue cannot share a trip (memory, a cluster)."""
        if not self.jobs or self.outbox is None:
            return None
        queue = self.outbox.queue
        steps = [queue.enqueue_step(p.job, not_before_us=p.not_before_us) for p in self.jobs]
        found = [step for step in steps if step is not None]
        return found if len(found) == len(steps) else None

    async def enqueue(self) -> None:
        """Queue the jobs one by one, in order (a person gets them in the order sent)."""
        if self.outbox is None:
            return
        for prepared in self.jobs:
            await self.outbox.queue.enqueue(prepared.job, not_before_us=prepared.not_before_us)

    def written(self) -> None:
        if self.outbox is not None and self.jobs:
            self.outbox.written()


@dataclass
class HeldOutbox:
    """One turn's outbox over the process's QueueOutbox (an Outbox: a turn's Messenger)."""

    outbox: QueueOutbox
    #: The turn's own idempotency key prefix (``<MessageSid>:``).
    turn_key: str
    hold: float
    _held: list[PreparedJob] = field(default_factory=list)
    _holding: bool = True
    _timer: asyncio.TimerHandle | None = None
    _flushing: asyncio.Task[None] | None = None

    async def submit(self, message: OutboundMessage) -> OutboundHandle:
        if not (self._holding and message.idempotency_key.startswith(self.turn_key)):
            if self._flushing is not None:
                await self._flushing  # the held ones first: a person gets them in order
            return await self.outbox.submit(message)
        prepared = self.outbox.prepare(message)
        job = prepared.job.model_copy(update={"id": job_id_for(message.idempotency_key)})
        self._held.append(PreparedJob(job, prepared.not_before_us))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.hold, self._time_is_up)
        return OutboundHandle(id=job.id, idempotency_key=message.idempotency_key)

    async def take(self) -> HeldReplies:
        """The turn ended: what is still held, for its settlement. Holds nothing more."""
        self._stop_holding()
        if self._flushing is not None:
            await self._flushing
        held, self._held = tuple(self._held), []
        return HeldReplies(held, self.outbox)

    def discard(self) -> None:
        """The turn failed and will run again, sending the same messages under the same keys."""
        self._stop_holding()
        self._held.clear()
        if self._flushing is not None:
            if self._flushing.done():
                self._flushing.exception()  # seen: the turn's own failure is what is reported
            else:
                self._flushing.cancel()

    async def close(self) -> None:
        return None

    def _stop_holding(self) -> None:
        self._holding = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None  # it holds this outbox's method: no cycle left for the collector

    def _time_is_up(self) -> None:
        self._timer = None
        self._holding = False
        self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        held = HeldReplies(tuple(self._held), self.outbox)
        self._held = []
        await held.enqueue()
        held.written()


def job_id_for(idempotency_key: str) -> str:
    """A held job's id, the same for every run of its turn (the key is the turn's own)."""
    return hashlib.blake2b(idempotency_key.encode(), digest_size=16).hexdigest()
