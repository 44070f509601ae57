"""A 63016 reported after the fact: Twilio accepted a free-form WhatsApp message, then failed it
because the 24-hour window had closed. Send the fallback template in its place.

Our own window check prevents most of these; Twilio's view can still differ (a window that
closed between our check and Twilio's, or a user who wrote to another process's number).
"""

from __future__ import annotations

import asyncio

from botkit.logging import get_logger
from botkit.outbound.errors import FormError
from botkit.outbound.job import Job
from botkit.outbound.outbox import Outbox
from botkit.outbound.queue.protocol import OutboundQueue
from botkit.outbound.settlements import SETTLE_WITHIN
from botkit.outbound.shaping import WhatsAppTemplate, as_template
from botkit.outbound.statuses.protocol import StatusChange
from botkit.twilio.status import StatusCallback

WINDOW_CLOSED = 63016
#: How often to look again, a quarter of SETTLE_WITHIN apart, for the job of a sid the queue
#: does not know yet: workers record sends in batches, so a fast failure can be reported before
#: its send is recorded (up to ten times SETTLE_WITHIN in all).
LOOKS = 40
log = get_logger("dispatch")


class WindowClosedFallback:
    def __init__(
        self, queue: OutboundQueue, outbox: Outbox, template: WhatsAppTemplate | None
    ) -> None:
        self.queue = queue
        self.outbox = outbox
        self.template = template

    async def __call__(self, callback: StatusCallback, change: StatusChange) -> None:
        if callback.error_code != WINDOW_CLOSED or change.new not in ("failed", "undelivered"):
            return
        job = await self._job_of(callback.message_sid)
        if job is None or job.message.content_sid:
            return
        try:
            message = as_template(job.message, self.template)
        except FormError as exc:
            log.warning(
                "63016 and no template to fall back to", sid=callback.message_sid, why=str(exc)
            )
            return
        key = f"{job.message.idempotency_key}:template"
        await self.outbox.submit(message.model_copy(update={"idempotency_key": key}))
        log.info("63016: sent the fallback template instead", sid=callback.message_sid)

    async def _job_of(self, sid: str) -> Job | None:
        for _ in range(LOOKS):
            job = await self.queue.find_by_sid(sid)
            if job is not None:
                return job
            await asyncio.sleep(SETTLE_WITHIN / 4)
        return await self.queue.find_by_sid(sid)
