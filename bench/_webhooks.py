"""Unique signed inbound SMS webhooks, as Twilio posts them, ready to go on the wire.

Each webhook has the 10 fields Twilio posts for a plain inbound SMS (tests/support/webhooks.py
``inbound_params``), a MessageSid of its own, and a signature over the exact URL the load
generator calls. Users and bot numbers are fixed: 500 users, each always texting the same one of
100 bot numbers (a person texts a business's number), chosen at random with a fixed seed so that
every run sends the same sequence. Signatures are HMAC-SHA1 over the URL and the sorted
parameters (/work/shared/twilio-facts.md), computed here from a precomputed HMAC state because
the SDK's ``compute_signature`` takes ~30 µs each and a run needs over a million; the first
webhooks of every maker, and one in 10,000 after them, are checked against the SDK's
``RequestValidator.compute_signature``.
"""

from __future__ import annotations

import base64
import hmac
import random
from collections.abc import Iterable
from hashlib import sha1
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "b" * 32
AUTH_TOKEN = "bench-inbound-auth-token-0123456789"
USERS = 500
NUMBERS = 100
PATH = "/twilio/messages"


def user(index: int) -> str:
    return f"+1555020{index:04d}"


def bot_number(user_index: int) -> str:
    """The number a user texts: users are spread evenly over the numbers."""
    return f"+1555030{user_index % NUMBERS:04d}"


class WebhookMaker:
    """Webhooks for one URL. ``stream`` (a small number) keeps the MessageSids of separate
    makers apart; within a maker, every webhook made is new."""

    def __init__(self, url: str, stream: int, *, token: str = AUTH_TOKEN, seed: int = 16) -> None:
        parts = urlsplit(url)
        self.url = url
        self.host = parts.netloc
        self.path = parts.path or "/"
        self._stream = stream
        self._made = 0
        self._token = token
        self._signer = hmac.new(token.encode(), url.encode(), sha1)
        self._random = random.Random(seed * 1_000_003 + stream)
        # Header lines shared by every request, in the order Twilio sends them.
        self._head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            "User-Agent: TwilioProxy/1.1\r\nAccept: */*\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
        )

    def one_per_user(self) -> list[bytes]:
        """A webhook from each user in turn: a warm-up that creates every session."""
        return [self._make(index) for index in range(USERS)]

    def batch(self, count: int) -> list[bytes]:
        """count webhooks from users picked at random."""
        return [self._make(self._random.randrange(USERS)) for _ in range(count)]

    def _make(self, user_index: int) -> bytes:
        number = self._made
        self._made += 1
        sid = f"SM{self._stream:08x}{number:024x}"
        sender, recipient, body = user(user_index), bot_number(user_index), f"hello {number}"
        # What Twilio signs after the URL: each name in sorted order, followed by its value.
        signed = (
            f"AccountSid{ACCOUNT_SID}ApiVersion2010-04-01Body{body}From{sender}MessageSid{sid}"
            f"NumMedia0NumSegments1SmsSid{sid}SmsStatusreceivedTo{recipient}"
        )
        mac = self._signer.copy()
        mac.update(signed.encode())
        signature = base64.b64encode(mac.digest()).decode()
        form = (
            # Form-encoded by hand (quote_plus took most of the time): numbers and bodies hold
            # nothing but digits, letters, '+' and spaces; _check parses some back.
            f"MessageSid={sid}&SmsSid={sid}&AccountSid={ACCOUNT_SID}"
            f"&From=%2B{sender[1:]}&To=%2B{recipient[1:]}&Body={body.replace(' ', '+')}"
            "&NumMedia=0&NumSegments=1&SmsStatus=received&ApiVersion=2010-04-01"
        )
        if number < _CHECKED or number % 10_000 == 0:
            self._check(form, signature)
        return (
            f"{self._head}X-Twilio-Signature: {signature}\r\n"
            f"I-Twilio-Idempotency-Token: {sid[2:]}\r\n"
            f"Content-Length: {len(form)}\r\n\r\n{form}"
        ).encode()

    def _check(self, form: str, signature: str) -> None:
        """The form has Twilio's 10 fields and the signature is the SDK's own for it."""
        params = dict(parse_qsl(form, strict_parsing=True))
        if params["Body"] != f"hello {int(params['MessageSid'][10:], 16)}":
            raise AssertionError(f"body not encoded as expected: {form}")
        if sorted(params) != sorted(_FIELDS) or len(parse_qsl(form)) != len(_FIELDS):
            raise AssertionError(f"not an inbound SMS webhook: {form}")
        expected = RequestValidator(self._token).compute_signature(self.url, params)
        if signature != expected:
            raise AssertionError(f"signature {signature} differs from the SDK's {expected}")


#: The fields Twilio posts for an inbound SMS without media (tests/support/webhooks.py).
_FIELDS = (
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "NumSegments",
    "SmsStatus",
    "ApiVersion",
)
_CHECKED = 3


def write_requests(path: Path, requests: Iterable[bytes]) -> int:
    """Write requests for bench/replay.lua: each as its length on a line, then its bytes.
    Returns how many were written."""
    count = 0
    with path.open("wb") as out:
        for request in requests:
            out.write(b"%d\n" % len(request))
            out.write(request)
            count += 1
    return count
