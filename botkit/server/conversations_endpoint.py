"""``POST /twilio/conversations``: Conversations webhooks, pre-events and post-events alike.

The request is read by the same WebhookReader as the other endpoints (size limit, decoding,
signature before anything else), so a forged event is a 403 that changed nothing; one that
describes no valid event is a 400 with the one-line reason. Then:

- a pre-event (onMessageAdd) is answered at once, since Twilio waits for it (5 s at most): 403
  with the reason when the gate rejects the message (botkit/inbound/message_add_gate.py), else 200,
  with a JSON body when the message is rewritten;
- a post-event is accepted like an inbound message: deduplicated on (EventType,
  MessageSid/ParticipantSid/ConversationSid, Index or state change) and queued in the durable
  inbound queue in one step, then answered 200. The inbound workers handle it at least once
  (botkit/inbound/conversation_pipeline.py);
- other Conversations events (onMessageUpdated, onDeliveryUpdated, other pre-events...) get a
  200 and are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from aiohttp import web

from botkit.inbound.events import ConversationEvent
from botkit.inbound.message_add_gate import MessageAddGate
from botkit.inbound.queue.protocol import InboundQueue
from botkit.logging import get_logger
from botkit.server.webhook import Acceptance, Endpoint, Rejection, WebhookReader
from botkit.twilio.conversation_events import (
    MalformedConversationEvent,
    MessageAdd,
    parse_conversation_event,
)

log = get_logger("server")

def conversations_endpoint(
    reader: WebhookReader,
    inbound: Callable[[web.Request], InboundQueue],
    gate: Callable[[web.Request], MessageAddGate],
    acceptance: Acceptance,
) -> Endpoint:
    """The handler; ``inbound`` and ``gate`` find the running app's queue and pre-event gate
    from a request."""

    async def conversations(request: web.Request) -> web.StreamResponse:
        params = await reader.read(request)
        try:
            event = parse_conversation_event(params)
        except MalformedConversationEvent as exc:
            raise Rejection(400, str(exc)) from None
        if event is None:
            return web.Response(status=200)
        if isinstance(event, MessageAdd):
            return await _decide(gate(request), event)
        item = ConversationEvent(event=event)
        return await acceptance.once(
            inbound(request),
            item.dedup_id,
            item.model_dump_json(),
            duplicate="duplicate conversation event ignored",
            entry=item.dedup_id,
        )

    return conversations


async def _decide(gate: MessageAddGate, event: MessageAdd) -> web.Response:
    verdict = await gate.decide(event)
    if verdict.rejection is not None:
        log.info(
            "conversation message rejected",
            conversation=event.conversation_sid,
            author=event.author,
            reason=verdict.rejection,
        )
        return web.Response(status=403, text=verdict.rejection + "\n")
    if not verdict.changes:
        return web.Response(status=200)
    answer = dict(verdict.changes)
    if "attributes" in answer:
        # Twilio reads Attributes as a JSON string, as everywhere else in Conversations.
        answer["attributes"] = json.dumps(answer["attributes"])
    return web.json_response(answer)
