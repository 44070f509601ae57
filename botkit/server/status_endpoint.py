"""``POST /twilio/status``: Twilio's status callbacks, accepted like inbound messages.

The request is read by the same WebhookReader as ``/twilio/messages`` (size limit, decoding,
signature before anything else), so a forged callback is a 403 that changed nothing. A signed
one is parsed (400 with the one-line reason if it names no message or no known status), stamped
with its arrival time and queued in the inbound queue; the 200 (empty TwiML, which Twilio
ignores) goes out once it is queued. Advancing the status and running the hooks happen in the
inbound workers: botkit/inbound/status_tracker.py says why.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from botkit.campaigns.model import CAMPAIGN_ID
from botkit.inbound.events import StatusEvent
from botkit.inbound.queue.protocol import InboundQueue
from botkit.server.webhook import Acceptance, Endpoint, Rejection, WebhookReader
from botkit.twilio.status import MalformedStatusCallback, parse_status_callback


def status_endpoint(
    reader: WebhookReader,
    queue: Callable[[web.Request], InboundQueue],
    acceptance: Acceptance,
) -> Endpoint:
    """The handler; ``queue`` finds the running app's inbound queue from a request."""

    async def status(request: web.Request) -> web.StreamResponse:
        params = await reader.read(request)
        try:
            callback = parse_status_callback(params)
        except MalformedStatusCallback as exc:
            raise Rejection(400, str(exc)) from None
        campaign = request.query.get("campaign") or None
        if campaign is not None and not CAMPAIGN_ID.match(campaign):
            raise Rejection(400, f"campaign {campaign[:70]!r} is not a campaign id")
        event = StatusEvent(callback=callback, at=time.time(), campaign=campaign)
        return await acceptance.once(
            queue(request),
            event.dedup_id,
            event.model_dump_json(),
            duplicate="duplicate status callback ignored",
            sid=callback.message_sid,
            status=callback.status,
        )

    return status
