"""The Messages resource of API 2010-04-01: create, fetch, list, update (cancel, redact), delete."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from botkit.sandbox.auth import require_account
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.errors import ApiError, not_found
from botkit.sandbox.ids import new_sid
from botkit.sandbox.messages import MessageRecord
from botkit.sandbox.paging import page_of
from botkit.sandbox.state import SandboxState
from botkit.twilio.address import Address, parse_address
from botkit.twilio.segments import count_segments

Form = MultiDictProxy[Any]
BASE = "/2010-04-01/Accounts/{account}/Messages"
MAX_BODY = 1600
MAX_MEDIA = 10
CANCELABLE = frozenset({"scheduled", "accepted", "queued"})


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
        account = require_account(request, self.state.config)
        form = await request.post()
        record = self._validated_record(account, form)
        sender_key = record.messaging_service_sid or record.from_ or ""
        wait = self.state.rates.admit(sender_key, record.num_segments) if self._strict else 0.0
        if wait > 0:
            error = ApiError(429, 20429, "Too Many Requests")
            response = error.response()
            response.headers["Retry-After"] = str(max(1, math.ceil(wait)))
            return response
        self.state.rates.record(sender_key, record.num_segments, record.sid)
        self.state.phone(record.to)
        self.state.add_message(record)
        self.delivery.spawn(self.delivery.run_outbound(record))
        return web.json_response(record.to_json(), status=201)

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
        if service_sid and not from_:
            from_ = self._service_sender(service_sid, to_address.is_whatsapp)
        from_address = _address(from_, 21212, "From")
        if from_address.is_whatsapp != to_address.is_whatsapp:
            raise ApiError(
                400, 21910, "Invalid From and To pair. From and To should be of the same channel"
            )
        consent_key = service_sid or from_address.number
        if (to_address.number, consent_key) in self.state.opted_out:
            raise ApiError(400, 21610, "Attempt to send to unsubscribed recipient")
        units = 1 if to_address.is_whatsapp else count_segments(body).segments
        prefix = "MM" if media else "SM"
        return MessageRecord(
            sid=new_sid(prefix),
            account_sid=account,
            to=str(to_address),
            from_=str(from_address),
            body=body,
            direction="outbound-api",
            status="accepted" if service_sid else "queued",
            num_segments=units,
            media_urls=media,
            media_types=[_guess_type(url) for url in media],
            messaging_service_sid=service_sid or None,
            status_callback=_text(form, "StatusCallback") or None,
            content_sid=content_sid or None,
            content_variables=_text(form, "ContentVariables") or None,
        )

    def _service_sender(self, service_sid: str, whatsapp: bool) -> str:
        service = self.state.services.get(service_sid)
        if service is None:
            raise ApiError(
                404, 20404, f"The requested resource /Services/{service_sid} was not found"
            )
        for number in service.numbers:
            if number.startswith("whatsapp:") == whatsapp:
                return number
        raise ApiError(400, 21704, "The Messaging Service contains no phone numbers")

    async def fetch(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        return web.json_response(self._find(request).to_json())

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
        if "Body" in form:
            if _text(form, "Body") != "":
                raise ApiError(400, 20001, "Body can only be set to an empty string (redaction)")
            record.body = ""
        status = _text(form, "Status")
        if status:
            if status != "canceled":
                raise ApiError(400, 20001, f"Status can only be 'canceled', not {status!r}")
            if record.status not in CANCELABLE:
                raise ApiError(
                    400, 30409, f"Message {record.sid} is {record.status} and cannot be canceled"
                )
            record.set_status("canceled")
        self.state.publish_message(record)
        return web.json_response(record.to_json())

    async def delete(self, request: web.Request) -> web.Response:
        require_account(request, self.state.config)
        record = self._find(request)
        del self.state.messages[record.sid]
        return web.Response(status=204)

    def _find(self, request: web.Request) -> MessageRecord:
        sid = request.match_info["sid"]
        record = self.state.messages.get(sid)
        if record is None:
            raise not_found(f"/Messages/{sid}.json")
        return record


_FILTERS = ("To", "From", "DateSent", "DateSent<", "DateSent>")


def _matches(record: MessageRecord, filters: dict[str, str]) -> bool:
    if "To" in filters and record.to != filters["To"]:
        return False
    if "From" in filters and record.from_ != filters["From"]:
        return False
    sent = (record.date_sent or record.date_created).date()
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
