"""Last checks before a send that may change a message's form or its time.

- WhatsApp outside the 24-hour window: a free-form message becomes the bot's fallback template
  (ContentSid + ContentVariables, no Body); with no template configured it fails fast.
- Quiet hours: a bulk send waits for daytime in the recipient's zone.
- A message for later (``send_at``): held by botkit until it is due, unless Twilio holds it
  (botkit/outbound/scheduling.py); then quiet hours are judged at the time it is due.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from botkit.compliance.windows.protocol import WindowStore
from botkit.core import clock
from botkit.outbound.errors import Deferred, FormError
from botkit.outbound.job import Job
from botkit.outbound.message import OutboundMessage
from botkit.outbound.quiet_hours import QuietHours
from botkit.outbound.scheduling import held_until_us, twilio_schedules


class WhatsAppTemplate(BaseModel):
    """The approved template to send when the window is closed.

    variables: ContentVariables; by default ``{"1": <the original text>}``.
    """

    model_config = ConfigDict(frozen=True)

    content_sid: str
    variables: dict[str, str] | None = None


def window_key(job: Job) -> str:
    """The WhatsApp sender a window belongs to: the number, or the service that holds it."""
    message = job.message
    return message.messaging_service_sid or message.from_ or job.sender


#: How long a worker trusts that a window it found open is still open. A window closes 24 hours
#: after the user's last message, so the only risk is one closing in this span; Twilio then
#: answers 63016 and the message goes as the template anyway (OutboundWorker._as_template).
OPEN_WINDOW_TRUST = 60.0
#: Windows remembered at most, so a worker sending to millions of users stays small.
OPEN_WINDOWS_KEPT = 100_000


class Shaper:
    def __init__(
        self,
        windows: WindowStore,
        template: WhatsAppTemplate | None,
        quiet: QuietHours | None,
    ) -> None:
        self.windows = windows
        self.template = template
        self.quiet = quiet
        self._open_until: dict[tuple[str, str], float] = {}

    async def __call__(self, job: Job) -> Job:
        message = job.message
        if message.conversation_sid is not None:
            return job  # posted into a conversation: Twilio shapes each participant's delivery
        later = held_until_us(message)
        if later is not None:
            raise Deferred(later, "scheduled")
        quiet = self.quiet
        if quiet is not None and (job.lane == "bulk" or quiet.apply_to_replies):
            if twilio_schedules(message) and message.send_at is not None:
                allowed = quiet.next_allowed(message.to, message.send_at)
                if allowed is not None:
                    job = job.model_copy(
                        update={"message": message.model_copy(update={"send_at": allowed})}
                    )
                    message = job.message
            else:
                until_us = quiet.held_until_us(message.to)
                if until_us is not None:
                    raise Deferred(until_us, "quiet hours")
        free_form_whatsapp = message.to.lower().startswith("whatsapp:") and not message.content_sid
        if free_form_whatsapp and not await self._window_open(window_key(job), message.to):
            return self.to_template(job)
        return job

    async def _window_open(self, sender: str, user: str) -> bool:
        """The window store's answer, with a recent "open" remembered: at a busy sender's rate
        asking the store for every message would be a round trip per send."""
        pair = (sender, user)
        moment = clock.now()
        if self._open_until.get(pair, 0.0) > moment:
            return True
        is_open = await self.windows.is_open(sender, user)
        if is_open:
            if len(self._open_until) >= OPEN_WINDOWS_KEPT:
                self._open_until.clear()
            self._open_until[pair] = moment + OPEN_WINDOW_TRUST
        return is_open

    def to_template(self, job: Job) -> Job:
        return job.model_copy(update={"message": as_template(job.message, self.template)})


def as_template(message: OutboundMessage, template: WhatsAppTemplate | None) -> OutboundMessage:
    """The message as the fallback template, or FormError when there is none (also on 63016)."""
    if template is None:
        raise FormError(
            "outside the WhatsApp 24-hour window and the bot has no fallback template "
            "(Bot(whatsapp_template=WhatsAppTemplate(content_sid=...)))"
        )
    variables = template.variables or {"1": message.body or ""}
    return message.model_copy(
        update={
            "content_sid": template.content_sid,
            "content_variables": json.dumps(variables),
            "body": None,
            "media_urls": (),
        }
    )
