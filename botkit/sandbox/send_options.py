"""The delivery options of a Messages create, read and checked as Twilio does: ValidityPeriod,
Attempt, SmartEncoded and ShortenUrls (ScheduleType/SendAt are in api_messages, with the
Messaging Service they need).

- ValidityPeriod: whole seconds, 1 to 36000 (90014 not a positive integer, 90007 out of range).
  A message still waiting in Twilio's queue when it runs out fails with 30036 instead of being
  sent (Delivery checks it when the message would start sending).
- Attempt: how many times the caller has tried this message, this request included; Twilio
  keeps it for its records and changes nothing else (a positive integer).
- SmartEncoded: Unicode look-alikes become GSM-7 (botkit/twilio/smart_encoding.py), before the
  segments are counted.
- ShortenUrls: only with a Messaging Service; the links of the body become the service's link
  shortening domain followed by ten letters and digits (Twilio's form). A service with no
  domain configured sends the links as they are. UNCONFIRMED: the error code Twilio answers
  ShortenUrls without a Messaging Service with; the sandbox answers 20001 (invalid parameter).
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from typing import Any

from multidict import MultiDictProxy

from botkit.sandbox.errors import ApiError

Form = MultiDictProxy[Any]
MAX_VALIDITY = 36_000
_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class SendOptions:
    validity_period: int | None = None
    attempt: int | None = None
    smart_encoded: bool = False
    shorten_urls: bool = False


def read_options(form: Form, service_sid: str) -> SendOptions:
    options = SendOptions(
        validity_period=_validity(form),
        attempt=_positive(form, "Attempt"),
        smart_encoded=_boolean(form, "SmartEncoded"),
        shorten_urls=_boolean(form, "ShortenUrls"),
    )
    if options.shorten_urls and not service_sid:
        raise ApiError(400, 20001, "ShortenUrls requires a MessagingServiceSid")
    return options


def shorten_links(body: str, domain: str, links: dict[str, str]) -> str:
    """``body`` with every http(s) link replaced by ``domain/<ten characters>``; ``links`` gets
    each short link's target (what a click on it opens)."""

    def short(match: re.Match[str]) -> str:
        code = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        url = f"{domain.rstrip('/')}/{code}"
        links[url] = match.group(0)
        return url

    return _LINK.sub(short, body)


def _text(form: Form, name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _validity(form: Form) -> int | None:
    raw = _text(form, "ValidityPeriod")
    if not raw:
        return None
    if not raw.isascii() or not raw.lstrip("-").isdigit() or int(raw) < 1:
        raise ApiError(400, 90014, "Validity Period should be positive integer")
    if int(raw) > MAX_VALIDITY:
        raise ApiError(400, 90007, f"Invalid validity period value {raw} (1 to {MAX_VALIDITY})")
    return int(raw)


def _positive(form: Form, name: str) -> int | None:
    raw = _text(form, name)
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or int(raw) < 1 or len(raw) > 9:
        raise ApiError(400, 20001, f"Invalid {name}: {raw[:20]!r} is not a positive integer")
    return int(raw)


def _boolean(form: Form, name: str) -> bool:
    raw = _text(form, name).lower()
    if raw in ("", "false"):
        return False
    if raw == "true":
        return True
    raise ApiError(400, 20001, f"Invalid {name}: {raw[:20]!r} (true or false)")
