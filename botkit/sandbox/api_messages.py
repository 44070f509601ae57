"""The Messages resource of API 2010-04-01: create, fetch, list, update (cancel, redact), delete."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from botkit.sandbox.auth import require_account
from botkit.sandbox.config import MessagingService
from botkit.sandbox.content import render_message
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.errors import ApiError, not_found
from botkit.sandbox.ids import new_sid
from botkit.sandbox.messages import NOT_YET_SENT, MessageRecord, now
from botkit.sandbox.paging import page_of
from botkit.sandbox.send_options import read_options, shorten_links
from botkit.sandbox.state import SandboxState
from botkit.twilio.address import Address, parse_address
from botkit.twilio.segments import GSM7_BASIC, GSM7_EXTENSION, GSM7_SINGLE, count_segments
from botkit.twilio.smart_encoding import smart_encode

Form = MultiDictProxy[Any]
BASE = "/2010-04-01/Accounts/{account}/Messages"
MAX_BODY = 1600
MAX_MEDIA = 10
#: Twilio's OAI: update "cancels not-yet-sent messages". UNCONFIRMED: its error page 30409
#: says only "scheduled" ones can be; the sandbox also lets accepted/queued ones be canceled.
CANCELABLE = NOT_YET_SENT
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")


class MessagesApi:
    def __init__(self, state: SandboxState, delivery: Delivery) -> None:
        self.state = state
        self.delivery = delivery

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(BASE + ".json", self.create),
            web.get(BASE + ".json", self.list),
            web.get(BASE + "/{sid}.json", self.fetch),
            web.post(BASE + "/{sid}.json", self.update),
            web.delete(BASE + "/{sid}.json", self.delete),
        ]

    async def create(self, request: web.Request) -> web.Response:
        # The moment the request arrived is when Twilio would count it against the rate, not
        # after the sandbox's own parsing and checks, whose time varies with its load.
        moment = time.time()
        account = require_account(request, self.state.config)
        form = await request.post()
        record = self._validated_record(account, form)
        if record.status != "scheduled":
            # A Messaging Service is rate-limited as a whole, a sender on its own otherwise.
            sender_key = record.messaging_service_sid or record.from_ or ""
            wait = (
                self.state.rates.admit(sender_key, record.num_segments, at=moment)
                if self._strict
                else 0.0
            )
            if wait > 0:
                error = ApiError(429, 20429, "Too Many Requests")
                response = error.response()
                response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return response
            self.state.rates.record(sender_key, record.num_segments, record.sid, at=moment)
        self.state.phone(record.to)
        self.state.add_message(record)
        self.delivery.start_outbound(record)
        return web.json_response(text=record.json_text(), status=201)

    @property
    def _strict(self) -> bool:
        return self.state.config.strict_rates

    def _validated_record(self, account: str, form: Form) -> MessageRecord:
        to = _text(form, "To")
        from_ = _text(form, "From")
        service_sid = _text(form, "MessagingServiceSid")
        body = _text(form, "Body")
        media = [str(url) for url in form.getall("MediaUrl", [])]
        content_sid = _text(form, "ContentSid")
        if not to:
            raise ApiError(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service_sid:
            raise ApiError(400, 21603, "A 'From' phone number is required.")
        if not body and not media and not content_sid:
            raise ApiError(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise ApiError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if len(media) > MAX_MEDIA:
            raise ApiError(400, 21623, "Number of media files exceeds allowed limit of 10.")
        to_address = _address(to, 21211, "To")
        service = self._service(service_sid) if service_sid else None
        pool_picks = service is not None and not from_
        if service is not None and not from_:
            from_ = self._pool_sender(service, to_address)
        from_address = _address(from_, 21212, "From")
        if from_address.is_whatsapp != to_address.is_whatsapp:
            raise ApiError(
                400, 21910, "Invalid From and To pair. From and To should be of the same channel"
            )
        # Address equality, field by field (pydantic's __eq__ is generic and slower).
        if from_address.number == to_address.number and from_address.prefix == to_address.prefix:
            raise ApiError(400, 21266, "'To' and 'From' number cannot be the same")
        if self._opted_out(to_address, from_address, service_sid):
            raise ApiError(400, 21610, "Attempt to send to unsubscribed recipient")
        send_at = self._send_at(form, service_sid)
        options = read_options(form, service_sid)
        actions: list[dict[str, str]] = []
        if content_sid:
            channel = "whatsapp" if to_address.is_whatsapp else "sms"
            content_variables = _text(form, "ContentVariables") or None
            rendered = render_message(self.state.contents, content_sid, channel, content_variables)
            body, media, actions = rendered.body, rendered.media_urls, rendered.actions
        if options.smart_encoded:
            body = smart_encode(body)
        if options.shorten_urls and service is not None and service.link_domain:
            body = shorten_links(body, service.link_domain, self.state.short_links)
        # WhatsApp and MMS messages are one unit whatever their length.
        units = 1 if to_address.is_whatsapp or media else _segments(body)
        prefix = "MM" if media else "SM"
        return MessageRecord(
            sid=new_sid(prefix),
            account_sid=account,
            to=str(to_address),
            from_=str(from_address),
            body=body,
            direction="outbound-api",
            status="scheduled" if send_at else "accepted" if service_sid else "queued",
            num_segments=units,
            media_urls=media,
            media_types=[_guess_type(url) for url in media],
            messaging_service_sid=service_sid or None,
            status_callback=_text(form, "StatusCallback") or None,
            content_sid=content_sid or None,
            content_variables=_text(form, "ContentVariables") or None,
            actions=actions,
            sender_assigned=not pool_picks,
            send_at=send_at,
            validity_period=options.validity_period,
            attempt=options.attempt,
        )

    def _service(self, service_sid: str) -> MessagingService:
        if not _SERVICE_SID.match(service_sid):
            raise ApiError(400, 21705, f"The Messaging Service Sid {service_sid} is invalid")
        service = self.state.services.get(service_sid)
        if service is None:
            raise ApiError(400, 21701, f"The Messaging Service {service_sid} does not exist")
        return service

    def _pool_sender(self, service: MessagingService, to: Address) -> str:
        """The sender a Messaging Service picks for ``to``: a pool number of the same channel,
        the one this recipient last exchanged messages with first (Twilio's Sticky Sender)."""
        candidates = [n for n in service.numbers if n.startswith("whatsapp:") == to.is_whatsapp]
        if not candidates:
            raise ApiError(400, 21704, "The Messaging Service contains no phone numbers")
        sticky = self.state.sticky_sender(str(to), service)
        return sticky if sticky in candidates else candidates[0]

    def _opted_out(self, to: Address, sender: Address, service_sid: str) -> bool:
        """Whether ``to`` texted STOP to this sender, or to any number of its Messaging Service.

        Twilio applies its STOP handling to SMS only (UNCONFIRMED for WhatsApp, where users
        block a business instead: 63014), so WhatsApp recipients are never refused with 21610."""
        if to.is_whatsapp or not self.state.opted_out:
            return False
        keys = {sender.number, service_sid}
        pool = self.state.service_for_number(sender.number)
        if pool is not None:
            keys.add(pool.sid)
        return any((to.number, key) in self.state.opted_out for key in keys if key)

    def _send_at(self, form: Form, service_sid: str) -> datetime | None:
        """When a ScheduleType=fixed message is due; None to send now. Twilio schedules only
        messages sent with a Messaging Service and treats others as not scheduled."""
        schedule_type = _text(form, "ScheduleType")
        if not schedule_type:
            return None
        if schedule_type != "fixed":
            raise ApiError(400, 35126, f"ScheduleType {schedule_type!r} is not supported")
        raw = _text(form, "SendAt")
        if not raw:
            raise ApiError(400, 35111, "SendAt timestamp is missing")
        if not service_sid:
            return None
        try:
            send_at = datetime.fromisoformat(raw)
        except ValueError:
            raise ApiError(400, 35114, f"SendAt {raw!r} is not an ISO 8601 timestamp") from None
        if send_at.tzinfo is None:
            send_at = send_at.replace(tzinfo=UTC)
        lead = (send_at - now()).total_seconds()
        config = self.state.config
        if not config.schedule_min_lead <= lead <= config.schedule_max_lead:
            raise ApiError(
                400,
                35114,
                f"SendAt time must be between {config.schedule_min_lead:.0f} seconds and "
                f"{config.schedule_max_lead:.0f} seconds in the future, inclusive",
            )
        return send_at

    async def fetch(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        return web.json_response(text=self._find(request).json_text())

    async def list(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        query = request.query
        filters = {k: v for k, v in query.items() if k in _FILTERS and v}
        records = [r for r in reversed(self.state.messages.values()) if _matches(r, filters)]
        page = page_of(
            [r.to_json() for r in records],
            path=request.path,
            key="messages",
            query=query,
            filters=filters,
        )
        return web.json_response(page)

    async def update(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        record = self._find(request)
        form = await request.post()
        redact = "Body" in form
        if redact and _text(form, "Body") != "":
            raise ApiError(400, 20001, "Body can only be set to an empty string (redaction)")
        status = _text(form, "Status")
        if status and status != "canceled":
            raise ApiError(400, 20001, f"Status can only be 'canceled', not {status!r}")
        if status and record.status not in CANCELABLE:
            raise ApiError(
                400, 30409, f"Message {record.sid} is {record.status} and cannot be canceled"
            )
        if redact:
            record.body = ""
            record.date_updated = now()
        if status:
            self.delivery.cancel(record)
        else:
            self.state.publish_message(record)
        return web.json_response(text=record.json_text())

    async def delete(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        record = self._find(request)
        if record.status in NOT_YET_SENT or record.status == "sending":
            # UNCONFIRMED: the HTTP status Twilio answers 20009 with.
            raise ApiError(
                409, 20009, "Cannot delete message because delivery has not been completed."
            )
        del self.state.messages[record.sid]
        return web.Response(status=204)

    def _find(self, request: web.Request) -> MessageRecord:
        sid = request.match_info["sid"]
        record = self.state.messages.get(sid)
        if record is None:
            raise not_found(request.path)
        return record


_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


def _matches(record: MessageRecord, filters: dict[str, str]) -> bool:
    if "To" in filters and record.to != filters["To"]:
        return False
    if "From" in filters and (not record.sender_assigned or record.from_ != filters["From"]):
        return False
    if not any(name.startswith("DateSent") for name in filters):
        return True
    if record.date_sent is None:
        return False  # never sent (yet): no sent date to match. UNCONFIRMED for Twilio.
    # Twilio filters by the day (GMT) only: a time given with the date is ignored.
    sent = record.date_sent.astimezone(UTC).date()
    bounds = (("DateSent", sent.__eq__), ("DateSent<", sent.__le__), ("DateSent>", sent.__ge__))
    for name, compare in bounds:
        if name in filters and not compare(_date(filters[name], name)):
            return False
    return True


def _date(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise ApiError(400, 20001, f"Invalid {name}: {raw!r} (use YYYY-MM-DD)") from None


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


#: Every GSM-7 character: a body of them costs at most two septets a character.
_GSM7 = GSM7_BASIC | GSM7_EXTENSION


def _segments(body: str) -> int:
    """count_segments(body).segments, without counting when the answer cannot be more than one:
    a body short enough in the widest encoding (two UTF-16 units a code point, 70 to a segment),
    or in GSM-7 (two septets a character at most, 160 to a segment)."""
    size = len(body)
    if size <= 35 or (size <= GSM7_SINGLE // 2 and _GSM7.issuperset(body)):
        return 1
    return count_segments(body).segments


def _address(raw: str, code: int, label: str) -> Address:
    try:
        return parse_address(raw)
    except ValueError:
        raise ApiError(400, code, f"Invalid '{label}' Phone Number: {raw}") from None


def _guess_type(url: str) -> str:
    lowered = url.lower().split("?")[0]
    for suffix, content_type in (
        (".png", "image/png"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".gif", "image/gif"),
        (".mp4", "video/mp4"),
        (".pdf", "application/pdf"),
    ):
        if lowered.endswith(suffix):
            return content_type
    return "image/jpeg"
