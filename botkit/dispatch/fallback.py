"""A 63016 reported after the fact: Twilio accepted a free-form WhatsApp message, then failed it
because the 24-hour window had closed. Send the fallback template in its place.

Our own window check prevents most of these; Twilio's view can still differ (a window that
closed between our check and Twilio's, or a user who wrote to another process's number).
"""

from __future__ import annotations

from botkit.dispatch.errors import FormError
from botkit.dispatch.queue import OutboundQueue
from botkit.dispatch.shaping import WhatsAppTemplate, as_template
from botkit.logging import get_logger
from botkit.outbound.outbox import Outbox
from botkit.storage.status import StatusChange
from botkit.twilio.status import StatusCallback

WINDOW_CLOSED = 63016
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
        job = await self.queue.find_by_sid(callback.message_sid)
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
