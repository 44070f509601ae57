"""The sandbox's own API: simulated phones that text the bot, owned numbers, rate records, and a
live event stream for the simulator page."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from botkit.sandbox.config import OwnedNumber
from botkit.sandbox.conversations.chat_phones import ChatPhones
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.errors import ApiError
from botkit.sandbox.events import CLOSED
from botkit.sandbox.ids import new_sid
from botkit.sandbox.messages import MessageRecord, now
from botkit.sandbox.rates import sender_kind
from botkit.sandbox.state import SandboxState, is_identity
from botkit.twilio.address import Address, parse_address
from botkit.twilio.segments import count_segments

#: Twilio's default answers to opt-out, opt-in and help keywords (UNCONFIRMED wording).
OPT_OUT_REPLY = (
    "You have successfully been unsubscribed. You will not receive any more messages from "
    "this number. Reply START to resubscribe."
)
OPT_IN_REPLY = (
    "You have successfully been re-subscribed to messages from this number. Reply HELP for "
    "help. Reply STOP to unsubscribe. Msg&Data Rates May Apply."
)
HELP_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."

#: Extra inbound webhook fields a phone may set, by their JSON name.
WHATSAPP_FIELDS = {
    "profile_name": "ProfileName",
    "button_text": "ButtonText",
    "button_payload": "ButtonPayload",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "address": "Address",
    "label": "Label",
    "replied_to_sid": "OriginalRepliedMessageSid",
    "list_id": "ListId",
    "list_title": "ListTitle",
    "referral_body": "ReferralBody",
    "referral_headline": "ReferralHeadline",
    "referral_source_id": "ReferralSourceId",
    "referral_source_type": "ReferralSourceType",
    "referral_source_url": "ReferralSourceUrl",
    "referral_media_id": "ReferralMediaId",
    "referral_media_content_type": "ReferralMediaContentType",
    "referral_media_url": "ReferralMediaUrl",
    "referral_ctwa_clid": "ReferralCtwaClid",
}


@dataclass(frozen=True)
class KeywordAction:
    """What Twilio's keyword handling did with an inbound message: the webhook's OptOutType,
    and the confirmation it answered with."""

    opt_out_type: str
    reply: str


class PhonesApi:
    def __init__(self, state: SandboxState, delivery: Delivery, chat: ChatPhones) -> None:
        self.state = state
        self.delivery = delivery
        self.chat = chat

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/sandbox/phones", self.list_phones),
            web.post("/sandbox/phones", self.create_phone),
            web.post("/sandbox/phones/{address}/messages", self.send),
            web.get("/sandbox/phones/{address}/messages", self.transcript),
            web.post("/sandbox/phones/{address}/read", self.read),
            web.get("/sandbox/numbers", self.list_numbers),
            web.put("/sandbox/numbers/{number}", self.put_number),
            web.get("/sandbox/sends", self.sends),
            web.get("/sandbox/events", self.events),
        ]

    async def list_phones(self, request: web.Request) -> web.Response:
        phones = [
            {"address": p.address, "channel": p.channel, "name": p.name}
            for p in self.state.phones.values()
        ]
        return web.json_response({"phones": phones})

    async def create_phone(self, request: web.Request) -> web.Response:
        """A handset ({address}), or a chat identity's client ({identity}, e.g. an agent)."""
        data = await _payload(request)
        identity = str(data.get("identity") or "").strip()
        if identity:
            if not is_identity(identity) or len(identity) > 256:
                raise ApiError(400, 20001, f"Invalid identity: {identity!r}")
            address = identity
        else:
            address = str(_parse(str(data.get("address", "")), "address"))
        phone = self.state.phone(address)
        if data.get("name"):
            phone.name = str(data["name"])
        return web.json_response(
            {"address": phone.address, "channel": phone.channel, "name": phone.name}, status=201
        )

    async def send(self, request: web.Request) -> web.Response:
        """The phone texts ``to``: record the inbound message and post the signed webhook. A
        chat identity writes into the conversation ``to`` (CH...) instead."""
        if is_identity(request.match_info["address"]):
            return await self._chat(request)
        sender = _parse(request.match_info["address"], "phone address")
        data = await _payload(request)
        to = _parse(str(data.get("to", "")), "to")
        if sender.is_whatsapp and not to.is_whatsapp:
            to = Address(number=to.number, prefix="whatsapp")
        if sender.is_whatsapp != to.is_whatsapp:
            raise ApiError(400, 21910, "A WhatsApp phone can only text a WhatsApp address")
        body = str(data.get("body", ""))
        media = [str(url) for url in _list(data.get("media_urls"))]
        # A shared location (WhatsApp) comes with an empty body.
        location = _location(data)
        if location and not sender.is_whatsapp:
            raise ApiError(400, 20001, "Only a WhatsApp phone can share a location")
        if not body and not media and not location:
            raise ApiError(400, 21602, "Message body is required.")
        self.state.phone(str(sender))
        service = self.state.service_for_number(to.number)
        record = MessageRecord(
            sid=new_sid("MM" if media else "SM"),
            account_sid=self.state.config.account_sid,
            to=str(to),
            from_=str(sender),
            body=body,
            direction="inbound",
            status="received",
            num_segments=1 if to.is_whatsapp else count_segments(body).segments,
            media_urls=media,
            media_types=_media_types(data, len(media)),
            messaging_service_sid=service.sid if service else None,
            date_sent=now(),
            location=location,
        )
        keyword = self._apply_keywords(record, service.sid if service else None)
        extra = {wire: str(data[key]) for key, wire in WHATSAPP_FIELDS.items() if data.get(key)}
        if keyword is not None and self.state.config.keyword_replies:
            # Twilio flags what its own handling answered, so the bot does not answer twice.
            extra["OptOutType"] = keyword.opt_out_type
        if sender.is_whatsapp:
            extra.setdefault("WaId", sender.number.lstrip("+"))
            extra.setdefault("ProfileName", self.state.phone(str(sender)).name or "Sandbox user")
        self.state.add_message(record)
        # The WhatsApp window opens now, not when the webhook task gets to run.
        self.state.last_inbound[(record.from_ or "", record.to)] = time.time()
        self.delivery.spawn(self.delivery.deliver_inbound(record, extra))
        if keyword is not None and self.state.config.keyword_replies:
            self._auto_reply(record, keyword.reply)
        return web.json_response(record.to_json(), status=201)

    def _apply_keywords(
        self, record: MessageRecord, service_sid: str | None
    ) -> KeywordAction | None:
        """Twilio's STOP/START/HELP handling on SMS, per sender (or per Messaging Service when
        the number is in one): what it did, for the webhook's OptOutType, and the confirmation
        it answers with (when keyword_replies is on).

        A message is a keyword only when it is the keyword alone. The message still reaches
        the webhook. WhatsApp gets no keyword handling (UNCONFIRMED: Twilio leaves opt-outs
        on WhatsApp to the business)."""
        config = self.state.config
        if record.to.startswith("whatsapp:"):
            return None
        keyword = record.body.strip().upper()
        key = (record.from_ or "", service_sid or record.to)
        if keyword in config.opt_out_keywords:
            self.state.opted_out.add(key)
            return KeywordAction("STOP", OPT_OUT_REPLY)
        if keyword in config.opt_in_keywords:
            self.state.opted_out.discard(key)
            return KeywordAction("START", OPT_IN_REPLY)
        if keyword in config.help_keywords:
            return KeywordAction("HELP", HELP_REPLY)
        return None

    def _auto_reply(self, inbound: MessageRecord, body: str) -> None:
        """Twilio answers keywords itself (an outbound-reply)."""
        reply = MessageRecord(
            sid=new_sid("SM"),
            account_sid=inbound.account_sid,
            to=inbound.from_ or "",
            from_=inbound.to,
            body=body,
            direction="outbound-reply",
            status="queued",
            num_segments=count_segments(body).segments,
            messaging_service_sid=inbound.messaging_service_sid,
        )
        self.state.add_message(reply)
        self.delivery.spawn(self.delivery.run_outbound(reply))

    async def _chat(self, request: web.Request) -> web.Response:
        identity = request.match_info["address"]
        data = await _payload(request)
        body = str(data.get("body", "")).strip()
        if not body:
            raise ApiError(400, 21602, "Message body is required.")
        self.state.phone(identity)
        posted = await self.chat.send(identity, str(data.get("to", "")), body)
        return web.json_response(posted, status=201)

    async def transcript(self, request: web.Request) -> web.Response:
        if is_identity(request.match_info["address"]):
            messages = self.chat.transcript(request.match_info["address"])
            return web.json_response({"messages": messages})
        address = str(_parse(request.match_info["address"], "phone address"))
        records = [
            r.sandbox_json()
            for r in self.state.messages.values()
            if address in (r.to, r.from_)
        ]
        return web.json_response({"messages": records})

    async def read(self, request: web.Request) -> web.Response:
        """The WhatsApp user opens their chat: what was delivered to them is ``read``, with a
        status callback each, as WhatsApp's blue ticks are reported. SMS reports no reads."""
        address = _parse(request.match_info["address"], "phone address")
        if not address.is_whatsapp:
            raise ApiError(400, 20001, "Only WhatsApp reports that a message was read")
        delivered = [
            r for r in self.state.messages.values()
            if r.to == str(address) and r.status == "delivered"
        ]
        for record in delivered:
            self.delivery.spawn(self.delivery.read(record))
        return web.json_response({"read": len(delivered)})

    async def list_numbers(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"numbers": [n.model_dump() for n in self.state.numbers.values()]}
        )

    async def put_number(self, request: web.Request) -> web.Response:
        number = _parse(request.match_info["number"], "number")
        data = await _payload(request)
        owned = OwnedNumber(number=number.number, sms_url=data.get("sms_url") or None)
        self.state.numbers[owned.number] = owned
        return web.json_response(owned.model_dump())

    async def sends(self, request: web.Request) -> web.Response:
        sender = request.query.get("sender")
        records = [
            {
                "at": r.at,
                "sender": r.sender,
                "kind": sender_kind(r.sender),
                "rate": self.state.rates.rate_for(r.sender),
                "units": r.units,
                "sid": r.sid,
            }
            for r in self.state.rates.records
            if sender is None or r.sender == sender
        ]
        return web.json_response({"sends": records})

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: every message created or updated, every new phone."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        async with self.state.bus.subscribe() as queue:
            with contextlib.suppress(ConnectionResetError):
                await response.write(b": connected\n\n")
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        await response.write(b": keep-alive\n\n")
                        continue
                    if event["type"] == CLOSED:
                        break
                    payload = json.dumps(event["data"])
                    await response.write(f"event: {event['type']}\ndata: {payload}\n\n".encode())
        return response


async def _payload(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            data = await request.json()
        except ValueError:
            raise ApiError(400, 20001, "Body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, 20001, "JSON body must be an object")
        return data
    form = await request.post()
    result: dict[str, Any] = {}
    for key in form:
        values = form.getall(key)
        result[key] = values if key in ("media_urls", "media_types") else values[0]
    return result


def _location(data: dict[str, Any]) -> dict[str, str] | None:
    """The location a phone shares, as Twilio sends it: Latitude and Longitude (degrees),
    with an optional Label and Address; None when it shares none."""
    if not data.get("latitude") and not data.get("longitude"):
        return None
    shared: dict[str, str] = {}
    for key, limit in (("latitude", 90.0), ("longitude", 180.0)):
        raw = str(data.get(key, "")).strip()
        try:
            degrees = float(raw)
        except ValueError:
            degrees = float("nan")
        if not -limit <= degrees <= limit:
            raise ApiError(400, 20001, f"Invalid {key}: {raw!r} (degrees, -{limit:g} to {limit:g})")
        shared[key] = raw
    for key in ("label", "address"):
        if data.get(key):
            shared[key] = str(data[key])
    return shared


def _media_types(data: dict[str, Any], count: int) -> list[str]:
    given = [str(t) for t in _list(data.get("media_types"))]
    return (given + ["image/jpeg"] * count)[:count]


def _list(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def _parse(raw: str, label: str) -> Address:
    try:
        return parse_address(raw)
    except ValueError as exc:
        raise ApiError(400, 21211, f"Invalid {label}: {exc}") from None
