"""Delivery tracking: applying one accepted status callback, then running the bot's hooks.

Why hooks run here, in an inbound worker, and not in the webhook request. ``POST
/twilio/status`` only checks the signature, parses, and queues the callback in the inbound
queue (one round trip) before answering 200, exactly as ``/twilio/messages`` does. The
simpler design, a background task started after the 200, loses the hook for good if the
process dies in between: the state has already moved, so a retry would be stale. Through the
queue the callback is processed at least once: a worker that dies mid-way leaves the event
unfinished, another reclaims it, and the store's idempotent ``advance`` (same status and same
acceptance time) answers the same change again, so the hooks do run. The price is that hooks
may run twice after such a crash; ``ctx.send`` keys its messages by MessageSid and status so
the outbound worker does not send them twice.

A hook that raises is logged (StatusHooks.run) and the event is finished all the same: running
it again would only repeat the hooks that succeeded. Only a store failure leaves the event for
another attempt.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from botkit.app.status_hooks import StatusHooks
from botkit.campaigns.counter import CampaignCounter
from botkit.campaigns.model import CALLBACK_COUNTS
from botkit.contexts.status import StatusContext
from botkit.inbound.events import StatusEvent
from botkit.logging import get_logger
from botkit.outbound.messenger import Messenger
from botkit.outbound.statuses.protocol import StatusChange, StatusStore
from botkit.twilio.status import StatusCallback

log = get_logger("status")


#: What the framework itself does on a status change, before the bot's hooks (e.g. the 63016
#: template fallback).
BuiltinReaction = Callable[[StatusCallback, StatusChange], Awaitable[None]]


class StatusTracker:
    def __init__(
        self,
        store: StatusStore,
        hooks: StatusHooks,
        sender: Messenger,
        reactions: Sequence[BuiltinReaction] = (),
        campaigns: CampaignCounter | None = None,
    ) -> None:
        """campaigns: where a campaign message's delivery statuses are counted."""
        self.campaigns = campaigns
        self.store = store
        self.hooks = hooks
        self.sender = sender
        self.reactions = tuple(reactions)

    async def process(self, event: StatusEvent) -> str:
        """Advance the message's status; run the hooks if it moved. Returns the outcome."""
        callback = event.callback
        change = await self.store.advance(
            callback.message_sid, callback.status, callback.error_code, event.at
        )
        if change is None:
            log.info(
                "status callback ignored: not a forward move",
                sid=callback.message_sid,
                status=callback.status,
            )
            return "stale"
        if event.campaign and self.campaigns is not None and change.new in CALLBACK_COUNTS:
            self.campaigns.add(event.campaign, change.new)
        for react in self.reactions:
            await react(callback, change)
        failed = await self.hooks.run(StatusContext(callback, change, self.sender))
        log.info(
            "message status",
            sid=change.sid,
            old=change.old,
            new=change.new,
            error_code=change.error_code,
            hooks_failed=failed,
        )
        return "advanced" if not failed else "hook_error"
