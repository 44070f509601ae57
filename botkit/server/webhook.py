"""Reading a Twilio webhook safely: size limit, decoding, then the signature, before anything else.

Every ``/twilio/*`` endpoint goes through ``WebhookReader.read``; a request it rejects has had
no effect at all. A JSON body is parsed only once its signature (over the URL and the body's
hash) holds, so no unsigned request costs more than reading it; a form is parsed first, because
its parameters are what is signed, which takes time linear in its bounded size.

Rejections carry a status and a one-line reason that is both logged and returned, because the
person debugging a proxy needs to see the URL we tried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError
from multidict import MultiDict

from botkit.inbound.queue.protocol import InboundQueue
from botkit.logging import get_logger
from botkit.twilio import strict_json
from botkit.twilio.params import shown
from botkit.twilio.signature import SIGNATURE_HEADER, RequestFacts, SignatureVerifier, signed_url

log = get_logger("server")

#: An aiohttp request handler: what every ``/twilio/*`` endpoint factory returns.
Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'


class Rejection(Exception):
    """A webhook we refuse; ``status`` is 4xx and ``reason`` is one line."""

    def __init__(self, status: int, reason: str, **log_fields: object) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.log_fields = log_fields


class WebhookReader:
    def __init__(
        self,
        verifier: SignatureVerifier | None,
        *,
        account_sid: str,
        public_url: str | None,
        trust_proxy: bool,
        public_hosts: Collection[str] = (),
        max_body_bytes: int,
        body_timeout: float = 10.0,
    ) -> None:
        self.verifier = verifier
        self.account_sid = account_sid
        self.public_url = public_url
        self.trust_proxy = trust_proxy
        self.public_hosts = public_hosts
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def read(self, request: web.Request) -> MultiDict[str]:
        """The request's parameters, once they are known to come from Twilio for this account.

        Twilio's signature joins names and values with no separator, so a signed request can be
        re-cut at other boundaries without breaking it ("ApiVersion" merged into "AccountSid").
        What survives the signature is therefore checked too: a parameter named twice is
        refused, the account must be ours, and each endpoint's parser requires its fields.
        """
        raw = await self._body(request)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejection(400, "body is not valid UTF-8") from None
        verifier = self.verifier
        if request.content_type == "application/json":
            # Signed over the URL and the body's hash: checked before the JSON is parsed.
            if verifier is not None:
                self._verify(request, lambda url, sig: verifier.verify_json(url, text, sig))
            params = _json_params(text)
        else:
            # Signed over the parameters; parsing a form is linear and bounded by the size.
            params = _form_params(text)
            if verifier is not None:
                self._verify(request, lambda url, sig: verifier.verify_form(url, params, sig))
        _refuse_repeats(params)
        if self.verifier is not None:
            self._check_account(params)
        return params

    async def _body(self, request: web.Request) -> bytes:
        # Twilio sends bodies as they are; a compressed one is refused unread (the app is
        # served with auto_decompress off): a few kilobytes of gzip can inflate to gigabytes.
        if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
            raise Rejection(415, "compressed bodies are not accepted (Content-Encoding)")
        declared = request.content_length
        if declared is not None and declared > self.max_body_bytes:
            raise Rejection(400, f"body of {declared} bytes exceeds {self.max_body_bytes} bytes")
        # read(n) returns whatever has arrived (up to n), not n bytes: loop until the end.
        # When the whole body came with the headers (nearly always) no read below waits, and
        # no timer is needed.
        raw = bytearray()
        deadline = (
            contextlib.nullcontext()
            if request.content.is_eof()
            else asyncio.timeout(self.body_timeout)
        )
        try:
            async with deadline:
                while len(raw) <= self.max_body_bytes:
                    chunk = await request.content.read(self.max_body_bytes + 1 - len(raw))
                    if not chunk:
                        break
                    raw += chunk
        except TimeoutError:
            raise Rejection(
                408, f"body not received within {self.body_timeout:g} s", received=len(raw)
            ) from None
        except RequestPayloadError:  # aiohttp could not read it: broken chunked encoding...
            raise Rejection(400, "body is not valid HTTP") from None
        if len(raw) > self.max_body_bytes:
            raise Rejection(400, f"body exceeds {self.max_body_bytes} bytes")
        return bytes(raw)

    def _verify(self, request: web.Request, valid: Callable[[str, str | None], bool]) -> None:
        """Rejects the request unless valid(url, signature) holds for the URL Twilio must
        have signed and the X-Twilio-Signature received."""
        facts = RequestFacts(
            scheme=request.scheme,
            host=request.host,
            path_qs=request.raw_path,
            headers=request.headers,
        )
        url = signed_url(facts, self.public_url, self.trust_proxy, self.public_hosts)
        if url is None:
            raise Rejection(
                403, "request host is not one of BOTKIT_PUBLIC_HOSTS", host=facts.host
            )
        signature = request.headers.get(SIGNATURE_HEADER)
        if not valid(url, signature):
            why = "missing" if not signature else "invalid"
            raise Rejection(403, f"{why} X-Twilio-Signature", url=url)

    def _check_account(self, params: MultiDict[str]) -> None:
        account = params.get("AccountSid")
        if account is not None and account != self.account_sid:
            raise Rejection(403, "AccountSid is not this bot's Twilio account")


def _form_params(text: str) -> MultiDict[str]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except ValueError:
        raise Rejection(400, "body is not form-encoded") from None
    return MultiDict(pairs)


def _refuse_repeats(params: MultiDict[str]) -> None:
    """Twilio names each parameter once; a repeat is signed like one value (the validator
    sorts and deduplicates values), and which one a reader takes is the sender's to choose."""
    if len(params) != len(set(params)):
        repeated = next(key for key in params if len(params.getall(key)) > 1)
        raise Rejection(400, f"parameter {shown(repeated)} appears more than once")


def _json_params(text: str) -> MultiDict[str]:
    try:
        document = strict_json.loads(text)
    except ValueError as exc:
        raise Rejection(400, f"body {exc}") from None
    if not isinstance(document, dict):
        raise Rejection(400, "JSON body must be an object")
    return MultiDict(
        (str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in document.items()
    )


def twiml_ok() -> web.Response:
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


class Unavailable(Exception):
    """The webhook cannot be accepted now (the queue failed or did not answer in time): 503, so
    that Twilio tries again."""


@dataclass(frozen=True)
class Acceptance:
    """Durable acceptance, the same for every ``/twilio/*`` webhook: record the id and enqueue
    the event in one step, then answer the empty TwiML.

    ``ttl``: how long the id is remembered. ``timeout``: how long the queue may take to confirm
    before the answer is a 503. Twilio gives up on a webhook after 15 s; a Redis that hangs
    (stopped, or behind a dead link) would otherwise hold each request for redis-py's own
    timeout, or forever. A 503 after the queue did take the event is safe: Twilio's retry is
    then a duplicate, answered 200.
    """

    ttl: float
    timeout: float

    async def once(
        self,
        queue: InboundQueue,
        dedup_id: str,
        payload: str,
        *,
        duplicate: str,
        session_key: str | None = None,
        **fields: object,
    ) -> web.Response:
        """A duplicate is logged as ``duplicate`` and changes nothing. ``session_key``: the
        session the event will be handled with, locked as a worker takes it."""
        try:
            async with asyncio.timeout(self.timeout):
                accepted = await queue.accept(dedup_id, payload, self.ttl, session_key)
        except TimeoutError:
            raise Unavailable(
                f"the inbound queue did not answer within {self.timeout:g} s"
            ) from None
        if not accepted:
            log.info(duplicate, **fields)
        return twiml_ok()
