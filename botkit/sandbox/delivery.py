"""What happens after a message is created: the status lifecycle with signed callbacks, and
inbound messages from phones posted to the owning number's webhook."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import datetime
from typing import Any

import phonenumbers

from botkit.sandbox.messages import API_VERSION, MessageRecord, now
from botkit.sandbox.state import SandboxState
from botkit.sandbox.webhooks import WebhookPoster

#: A status an outbound message moves to, with the error it fails with (code, message).
Step = tuple[str, tuple[int, str] | None]
#: Takes an inbound message that belongs elsewhere (a Conversation); True when it took it.
InboundRouter = Callable[[MessageRecord], Awaitable[bool]]

ERROR_MESSAGES = {
    30036: "Validity Period Expired",
    30003: "Unreachable destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
    63003: "Channel could not find To address",
    63016: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}


class Delivery:
    """Runs lifecycles in background tasks that the sandbox cancels when it stops."""

    def __init__(self, state: SandboxState, poster: WebhookPoster) -> None:
        self.state = state
        self.poster = poster
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Scheduled messages waiting to be due, by SID: not waited for by settle().
        self._timers: dict[str, asyncio.Task[None]] = {}
        #: Set by Conversations, so a phone bound to a conversation texts into it instead.
        self.inbound_router: InboundRouter | None = None
        #: Lifecycles of messages without a StatusCallback, run on timer callbacks instead of
        #: tasks (``_QuietLifecycle``); settle() waits for them as for tasks.
        self._quiet: set[_QuietLifecycle] = set()
        self._quiet_waiters: list[asyncio.Future[None]] = []

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for lifecycle in self._quiet:
            lifecycle.cancel()
        self._quiet.clear()
        self._wake_quiet_waiters()
        pending = [*self._tasks, *self._timers.values()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def settle(self) -> None:
        """Wait until every lifecycle and webhook in flight has finished (tests). Scheduled
        messages that are not due yet are not waited for."""
        while self._tasks or self._quiet:
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            else:
                # Each caller waits on a future of its own: a caller cancelled (a timeout) must
                # not cancel the wait of another.
                waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._quiet_waiters.append(waiter)
                await waiter

    def _quiet_done(self, lifecycle: _QuietLifecycle) -> None:
        self._quiet.discard(lifecycle)
        if not self._quiet:
            self._wake_quiet_waiters()

    def _wake_quiet_waiters(self) -> None:
        waiters, self._quiet_waiters = self._quiet_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # Outbound -----------------------------------------------------------------------------

    def start_outbound(self, record: MessageRecord) -> None:
        """Run the lifecycle of a new outbound message now, or when a scheduled one is due."""
        if record.status == "scheduled" and record.send_at is not None:
            timer = asyncio.create_task(self._when_due(record, record.send_at))
            self._timers[record.sid] = timer
            timer.add_done_callback(lambda _: self._timers.pop(record.sid, None))
        elif record.status_callback:
            self.spawn(self.run_outbound(record))
        else:
            # Nothing to post and so nothing to await: the same lifecycle on timer callbacks,
            # without a task and a future per step (the sandbox's main cost under load after
            # HTTP itself).
            lifecycle = _QuietLifecycle(self, record)
            self._quiet.add(lifecycle)
            lifecycle.start()

    async def _when_due(self, record: MessageRecord, send_at: datetime) -> None:
        await asyncio.sleep(max((send_at - now()).total_seconds(), 0.0))
        if record.status == "scheduled":
            record.queued_at = time.time()  # its validity counts from now
            # A scheduled message is sent (and recorded against its sender) when it is due.
            sender = record.messaging_service_sid or record.from_ or ""
            self.state.rates.record(sender, record.num_segments, record.sid)
            self.spawn(self.run_outbound(record))

    async def run_outbound(self, record: MessageRecord) -> None:
        """The lifecycle of an outbound message, one status_step apart:

        scheduled (once due) or accepted (Messaging Service) → queued → sending → sent →
        delivered; failed (63003, 63016) or undelivered (failing numbers) instead, and failed
        (30036) for a message whose ValidityPeriod ran out before it started sending. Twilio posts
        no callback for the initial status. A canceled message goes no further."""
        for status, error in self._outbound_steps(record):
            await asyncio.sleep(self.state.config.status_step)
            if not await self._advance(record, status, error):
                return

    def _outbound_steps(self, record: MessageRecord) -> Iterator[Step]:
        """The statuses an outbound message goes through, each decided when it is asked for
        (a step apart); run_outbound and _QuietLifecycle both follow it, stopping early once a
        move is refused (canceled)."""
        if record.status in ("scheduled", "accepted"):
            yield "queued", None
        # Each step is decided a status_step before it is taken: judged at the time it would
        # start sending.
        if record.expired(time.time() + self.state.config.status_step):
            yield "failed", (30036, ERROR_MESSAGES[30036])
            return
        failure = self._failure_for(record)
        yield "sending", None
        if failure is not None and failure[0] in (63003, 63016):
            # UNCONFIRMED: whether Twilio reports "sending" before these WhatsApp failures.
            yield "failed", failure
            return
        yield "sent", None
        yield ("undelivered", failure) if failure is not None else ("delivered", None)

    async def read(self, record: MessageRecord) -> None:
        """A delivered WhatsApp message its recipient opened: ``read``, and the callback."""
        if record.status == "delivered":
            await self._advance(record, "read")

    def cancel(self, record: MessageRecord) -> None:
        """Cancel a not-yet-sent message; its lifecycle stops and the callback says canceled.

        UNCONFIRMED: that Twilio posts a status callback for canceled (it does for every status
        change after creation, per its status callback guide)."""
        timer = self._timers.pop(record.sid, None)
        if timer is not None:
            timer.cancel()
        record.set_status("canceled")
        self.state.publish_message(record)
        if record.status_callback:
            self.spawn(self.poster.post(record.status_callback, status_params(record)))

    def _failure_for(self, record: MessageRecord) -> tuple[int, str] | None:
        config = self.state.config
        number = record.to.removeprefix("whatsapp:")
        code: int | None = None
        if record.to.startswith("whatsapp:"):
            if number in config.non_whatsapp_numbers:
                code = 63003
            elif record.content_sid is None and not self.state.whatsapp_window_open(
                record.to, record.from_ or ""
            ):
                code = 63016
        if code is None:
            code = config.failing_numbers.get(number)
        if code is None:
            return None
        return code, ERROR_MESSAGES.get(code, "Message delivery failed")

    async def _advance(
        self, record: MessageRecord, status: str, error: tuple[int, str] | None = None
    ) -> bool:
        """Move to status and post the callback; False (and nothing done) once canceled."""
        if not self._move(record, status, error):
            return False
        if record.status_callback:
            await self.poster.post(record.status_callback, status_params(record))
        return True

    def _move(
        self, record: MessageRecord, status: str, error: tuple[int, str] | None = None
    ) -> bool:
        """_advance without the callback: move to status; False (nothing done) once canceled."""
        if record.status == "canceled":
            return False
        if status == "queued":
            record.sender_assigned = True  # a Messaging Service picks its sender now
        if status == "sent":
            record.date_sent = now()
        record.set_status(status, error)
        self.state.publish_message(record)
        return True

    # Inbound ------------------------------------------------------------------------------

    async def deliver_inbound(self, record: MessageRecord, extra: dict[str, str]) -> None:
        """Post the inbound message to the webhook of the number (or service) it was sent to."""
        to_number = record.to.removeprefix("whatsapp:")
        self.state.last_inbound[(record.from_ or "", record.to)] = time.time()
        if self.inbound_router is not None and await self.inbound_router(record):
            return
        url: str | None = None
        service = self.state.service_for_number(to_number)
        owned = self.state.numbers.get(to_number)
        if owned is not None and owned.sms_url:
            url = owned.sms_url
        elif service is not None and service.inbound_url:
            url = service.inbound_url
        if url is None:
            return
        await self.poster.post(url, inbound_params(record, extra))


class _QuietLifecycle:
    """``Delivery.run_outbound`` for a message without a StatusCallback: the same steps
    (``Delivery._outbound_steps``), one status_step apart, on timer callbacks instead of a task."""

    __slots__ = ("_delivery", "_handle", "_record", "_steps")

    def __init__(self, delivery: Delivery, record: MessageRecord) -> None:
        self._delivery = delivery
        self._record = record
        self._steps = delivery._outbound_steps(record)
        self._handle: asyncio.Handle | None = None

    def start(self) -> None:
        """Begin on the next turn of the loop, as a task spawned for run_outbound would."""
        self._handle = asyncio.get_running_loop().call_soon(self._run, None)

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def _run(self, step: Step | None) -> None:
        """Take step (None: none yet) and ask for the next, to take a status_step from now. With
        none left, or once a move is refused (canceled) or fails, the lifecycle is over."""
        self._handle = None
        try:
            if step is None or self._delivery._move(self._record, *step):
                following = next(self._steps, None)
                if following is not None:
                    self._handle = asyncio.get_running_loop().call_later(
                        self._delivery.state.config.status_step, self._run, following
                    )
        finally:
            if self._handle is None:
                self._delivery._quiet_done(self)


def status_params(record: MessageRecord) -> dict[str, str]:
    params = {
        "MessageSid": record.sid,
        "SmsSid": record.sid,
        "AccountSid": record.account_sid,
        "From": record.from_ or "",
        "To": record.to,
        "MessageStatus": record.status,
        "SmsStatus": record.status,
        "ApiVersion": API_VERSION,
    }
    if record.messaging_service_sid:
        params["MessagingServiceSid"] = record.messaging_service_sid
    if record.error_code is not None:
        params["ErrorCode"] = str(record.error_code)
    return params


def inbound_params(record: MessageRecord, extra: dict[str, str]) -> dict[str, str]:
    params = {
        "MessageSid": record.sid,
        "SmsSid": record.sid,
        "SmsMessageSid": record.sid,
        "AccountSid": record.account_sid,
        "From": record.from_ or "",
        "To": record.to,
        "Body": record.body,
        "NumMedia": str(len(record.media_urls)),
        "NumSegments": str(record.num_segments),
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
    if record.messaging_service_sid:
        params["MessagingServiceSid"] = record.messaging_service_sid
    for index, (url, content_type) in enumerate(
        zip(record.media_urls, record.media_types, strict=True)
    ):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    if record.to.startswith("whatsapp:"):
        params["MessageType"] = _whatsapp_type(record, extra)
    else:
        # Twilio adds the geography it knows of both numbers to SMS webhooks; the sandbox
        # knows each number's country and leaves city, state and zip empty.
        for prefix, address in (("From", record.from_ or ""), ("To", record.to)):
            params[f"{prefix}Country"] = _country(address)
            for part in ("City", "State", "Zip"):
                params[f"{prefix}{part}"] = ""
    params.update(extra)
    return params


def _country(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ""
    # Test numbers (+1555...) belong to no region; their country code still names a country.
    region = phonenumbers.region_code_for_number(parsed)
    if not region and parsed.country_code is not None:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
    return "" if region in (None, "ZZ", "001") else str(region)


def _whatsapp_type(record: MessageRecord, extra: dict[str, str]) -> str:
    if "ButtonPayload" in extra or "ButtonText" in extra:
        return "button"
    if "ListId" in extra:
        return "interactive"  # UNCONFIRMED: the MessageType Twilio gives a list reply
    if "Latitude" in extra:
        return "location"
    if record.media_types:
        kind = record.media_types[0].split("/")[0]
        return kind if kind in ("image", "video", "audio") else "document"
    return "text"
