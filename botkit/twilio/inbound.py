"""The inbound message webhook, parsed into a typed model.

Parsing is strict about what the pipeline relies on (MessageSid, From, To, media counts) and
lenient about everything else: Twilio adds parameters without notice, so unknown ones are kept
in ``params`` rather than rejected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from botkit.twilio.address import Address, parse_address
from botkit.twilio.params import account_sid, api_version, required, shown

Channel = Literal["sms", "mms", "whatsapp"]
#: Twilio's Advanced Opt-Out verdict on an inbound message: its own keyword handling acted.
OptOutType = Literal["STOP", "START", "HELP"]
_OPT_OUT_TYPES: tuple[OptOutType, ...] = ("STOP", "START", "HELP")

_MESSAGE_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_MEDIA_URL = re.compile(r"MediaUrl\d+")
MAX_MEDIA = 10


class MalformedWebhook(ValueError):
    """The webhook's parameters cannot describe a message; the text is the one-line reason."""


class Media(BaseModel):
    """One attachment: Twilio's MediaUrlN with its MediaContentTypeN."""

    model_config = ConfigDict(frozen=True)

    url: str
    content_type: str


class Location(BaseModel):
    """A location a WhatsApp user shared."""

    model_config = ConfigDict(frozen=True)

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    address: str | None = None
    label: str | None = None


class Referral(BaseModel):
    """The ad or post a WhatsApp user came from (Click-to-WhatsApp): Twilio's Referral* fields."""

    model_config = ConfigDict(frozen=True)

    source_url: str | None = None
    source_id: str | None = None
    source_type: str | None = None
    headline: str | None = None
    body: str | None = None
    media_id: str | None = None
    media_content_type: str | None = None
    media_url: str | None = None
    ctwa_clid: str | None = None


class WhatsAppInfo(BaseModel):
    """Fields Twilio sends only for WhatsApp messages."""

    model_config = ConfigDict(frozen=True)

    profile_name: str | None = None
    wa_id: str | None = None
    location: Location | None = None
    button_text: str | None = None
    button_payload: str | None = None
    #: The list picker item the user chose: its id and title.
    list_id: str | None = None
    list_title: str | None = None
    replied_to_sid: str | None = None
    referral: Referral | None = None


class InboundMessage(BaseModel):
    """A message a user sent to one of the bot's numbers or Messaging Services."""

    model_config = ConfigDict(frozen=True)

    sid: str
    account_sid: str | None = None
    channel: Channel
    sender: Address
    recipient: Address
    body: str = ""
    media: tuple[Media, ...] = ()
    messaging_service_sid: str | None = None
    whatsapp: WhatsAppInfo | None = None
    #: Set when Twilio's own opt-out handling (Advanced Opt-Out) acted on this message: it has
    #: already recorded the opt-out or opt-in on its side and answered the user.
    opt_out_type: OptOutType | None = None
    params: dict[str, str]

    @property
    def text(self) -> str:
        """The body, trimmed: what intent matching looks at."""
        return self.body.strip()


def parse_inbound_message(params: Mapping[str, str]) -> InboundMessage:
    """Build an InboundMessage from webhook params, or raise MalformedWebhook with the reason.

    Every parameter Twilio always sends is required (Body too, empty for a picture alone),
    for the reason botkit/twilio/params.py gives.
    """
    sid = _required(params, "MessageSid")
    if not _MESSAGE_SID.match(sid):
        raise MalformedWebhook(f"MessageSid {sid!r} is not a Twilio message SID")
    for copy in ("SmsSid", "SmsMessageSid"):
        if copy in params and params[copy] != sid:
            raise MalformedWebhook(f"{copy} is not the MessageSid")
    account = account_sid(params, MalformedWebhook)
    api_version(params, MalformedWebhook)
    if "Body" not in params:
        raise MalformedWebhook("missing required parameter Body")
    sender = _address(params, "From")
    recipient = _address(params, "To")
    media = _media(params)
    service = params.get("MessagingServiceSid") or None
    if service is not None and not _SERVICE_SID.match(service):
        raise MalformedWebhook(f"MessagingServiceSid {service!r} is not a Messaging Service SID")
    channel: Channel
    if sender.is_whatsapp or recipient.is_whatsapp:
        channel = "whatsapp"
    else:
        channel = "mms" if media else "sms"
    return InboundMessage(
        sid=sid,
        account_sid=account,
        channel=channel,
        sender=sender,
        recipient=recipient,
        body=params.get("Body", ""),
        media=media,
        messaging_service_sid=service,
        whatsapp=_whatsapp(params) if channel == "whatsapp" else None,
        opt_out_type=_opt_out_type(params),
        params=dict(params),
    )


def _opt_out_type(params: Mapping[str, str]) -> OptOutType | None:
    """OptOutType, when it is one botkit knows; anything else stays in ``params`` only."""
    raw = params.get("OptOutType", "").strip().upper()
    for known in _OPT_OUT_TYPES:
        if raw == known:
            return known
    return None


def _required(params: Mapping[str, str], name: str) -> str:
    return required(params, name, MalformedWebhook)


def _address(params: Mapping[str, str], name: str) -> Address:
    raw = _required(params, name)
    try:
        return parse_address(raw)
    except ValueError as exc:
        raise MalformedWebhook(f"{name}: {exc}") from None


def _media(params: Mapping[str, str]) -> tuple[Media, ...]:
    declared = _required(params, "NumMedia")
    # ASCII digits only: str.isdigit() accepts "²", which int() rejects.
    if not (declared.isascii() and declared.isdigit()):
        raise MalformedWebhook(f"NumMedia {declared!r} is not a number")
    # Compare lengths first: int() refuses strings of more than 4300 digits.
    digits = declared.lstrip("0") or "0"
    if len(digits) > len(str(MAX_MEDIA)) or int(digits) > MAX_MEDIA:
        shown = digits if len(digits) <= 12 else digits[:12] + "..."
        raise MalformedWebhook(f"NumMedia {shown} exceeds Twilio's limit of {MAX_MEDIA}")
    count = int(digits)
    present = sum(1 for key in params if key.startswith("MediaUrl") and _MEDIA_URL.fullmatch(key))
    if present != count:
        raise MalformedWebhook(f"NumMedia is {count} but {present} MediaUrl parameters were sent")
    items = []
    for index in range(count):
        url = params.get(f"MediaUrl{index}")
        if not url:
            raise MalformedWebhook(f"NumMedia is {count} but MediaUrl{index} is missing")
        content_type = params.get(f"MediaContentType{index}", "application/octet-stream")
        items.append(Media(url=url, content_type=content_type))
    return tuple(items)


def _whatsapp(params: Mapping[str, str]) -> WhatsAppInfo:
    return WhatsAppInfo(
        profile_name=params.get("ProfileName") or None,
        wa_id=params.get("WaId") or None,
        location=_location(params),
        button_text=params.get("ButtonText") or None,
        button_payload=params.get("ButtonPayload") or None,
        list_id=params.get("ListId") or None,
        list_title=params.get("ListTitle") or None,
        replied_to_sid=params.get("OriginalRepliedMessageSid") or None,
        referral=_referral(params),
    )


_REFERRAL_FIELDS = {
    "source_url": "ReferralSourceUrl",
    "source_id": "ReferralSourceId",
    "source_type": "ReferralSourceType",
    "headline": "ReferralHeadline",
    "body": "ReferralBody",
    "media_id": "ReferralMediaId",
    "media_content_type": "ReferralMediaContentType",
    "media_url": "ReferralMediaUrl",
    "ctwa_clid": "ReferralCtwaClid",
}


def _referral(params: Mapping[str, str]) -> Referral | None:
    found = {name: params[wire] for name, wire in _REFERRAL_FIELDS.items() if params.get(wire)}
    return Referral(**found) if found else None


def _location(params: Mapping[str, str]) -> Location | None:
    lat, lon = params.get("Latitude"), params.get("Longitude")
    if not lat or not lon:
        return None
    try:
        return Location(
            latitude=float(lat),
            longitude=float(lon),
            address=params.get("Address") or None,
            label=params.get("Label") or None,
        )
    except ValueError:
        # NaN or an infinity would be queued as null and the message then dropped as
        # unreadable: refused here, like anything that is not a place on Earth.
        raise MalformedWebhook(
            f"Latitude/Longitude {shown(lat)}/{shown(lon)} are not coordinates"
        ) from None
