"""The timer feed: timers that came due become inbound events, handled like a message.

Each process that runs inbound workers runs one feed. It takes due timers from the timer store
(a lease each, so only one process fires a timer: botkit/timers/protocol.py), queues each as a
``TimerEvent`` in the inbound queue (deduplicated on the timer's id, revision and occurrence,
and with the person's session key, so the worker locks and loads it as it takes the event) and
then marks it done (a recurring timer moves to its next occurrence). From there a timer is an
inbound event: at least once, its replies keyed so that none goes twice.

Due is judged on the rule clock (botkit.core.clock), so a test that moves the clock makes timers
due; ``wake`` has the feed look at once instead of at its next poll.
"""

from __future__ import annotations

from botkit.core import clock
from botkit.core.tasks import PollingLoop
from botkit.inbound.events import TimerEvent
from botkit.inbound.queue.protocol import InboundQueue
from botkit.logging import get_logger
from botkit.sessions.keys import SessionKeys
from botkit.timers.protocol import Timer, TimerStore

log = get_logger("timers")

#: Timers taken at most per look.
BATCH = 200


class TimerFeed(PollingLoop):
    def __init__(
        self,
        timers: TimerStore,
        inbound: InboundQueue,
        keys: SessionKeys,
        dedup_ttl: float,
        *,
        poll: float = 0.5,
        lease: float = 30.0,
    ) -> None:
        self.timers = timers
        self.inbound = inbound
        # The session a timer's turn runs in: the person's own, as their messages' are.
        self.keys = keys
        self.dedup_ttl = dedup_ttl
        self.lease = lease
        # wake(): look for due timers now (the rule clock jumped, in a test).
        super().__init__("timer-feed", "timer store", poll)

    async def round(self) -> bool:
        return await self.fire_due() >= BATCH

    async def fire_due(self) -> int:
        """Queue every timer due now; how many."""
        due = await self.timers.take_due(clock.now(), BATCH, self.lease)
        for timer in due:
            await self._fire(timer)
        return len(due)

    async def _fire(self, timer: Timer) -> None:
        event = TimerEvent(timer=timer)
        message = event.message
        await self.inbound.accept(
            event.dedup_id,
            event.model_dump_json(),
            self.dedup_ttl,
            self.keys.direct(message),
        )
        await self.timers.done(timer, timer.following(clock.now()))
        log.info("timer fired", timer=timer.id, intent=timer.intent, occurrence=timer.occurrence)
