"""Malformed webhooks get 400 with a one-line reason, one log line, no handler run, never a 500.

Requests whose parameters are wrong are signed correctly, so the 400 is about the content and
not the signature. Form bodies that cannot be decoded or parsed are rejected before the
signature is looked at (there are no parameters to check it against); a JSON body is signed over
the URL and its hash, so its signature is checked first and only a signed one is parsed.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse

from botkit.twilio.signature import SIGNATURE_HEADER
from tests.conftest import AUTH_TOKEN, StartServer
from tests.support.echo_harness import EchoHarness, echo_bot
from tests.support.logs import JsonLogs
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import inbound_params, sign

PATH = "/twilio/messages"
FORM = "application/x-www-form-urlencoded"
MAX_BODY = 1024


class Harness(EchoHarness):
    @property
    def url(self) -> str:
        return self.server.url(PATH)

    async def post_bytes(
        self, body: bytes | AsyncIterator[bytes], *, content_type: str = FORM, signature: str = ""
    ) -> ClientResponse:
        headers = {"Content-Type": content_type}
        if signature:
            headers[SIGNATURE_HEADER] = signature
        return await self.server.client.post(PATH, data=body, headers=headers)


StartHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
def harness(logs: JsonLogs, start_server: StartServer, twilio: SandboxTwilio) -> StartHarness:
    async def start(**settings: Any) -> Harness:
        bot, seen = echo_bot("malformed")
        settings.setdefault("max_body_bytes", MAX_BODY)
        server = await start_server(bot, **settings)
        logs.take()
        return Harness(server, twilio, logs, seen)

    return start


def without(name: str) -> dict[str, str]:
    params = inbound_params("malformed")
    del params[name]
    return params


def with_media(declared: str, urls: int) -> dict[str, str]:
    params = inbound_params("malformed", NumMedia=declared)
    for index in range(urls):
        params[f"MediaUrl{index}"] = f"https://api.twilio.com/media/ME{index}"
        params[f"MediaContentType{index}"] = "image/png"
    return params


# Signed correctly, wrong in content: (params, reason).
SIGNED_CASES: dict[str, tuple[dict[str, str], str]] = {
    "missing-sid": (without("MessageSid"), "missing required parameter MessageSid"),
    "missing-from": (without("From"), "missing required parameter From"),
    "missing-to": (without("To"), "missing required parameter To"),
    "blank-from": (
        inbound_params("malformed", From=""),
        "missing required parameter From",
    ),
    "bad-sid": (
        inbound_params("malformed", MessageSid="SM-not-a-sid"),
        "MessageSid 'SM-not-a-sid' is not a Twilio message SID",
    ),
    "non-e164-from": (
        inbound_params("malformed", From="5550001111"),
        "From: '5550001111' is not an E.164 number (it must start with +)",
    ),
    "media-more-than-declared": (
        with_media("1", 2),
        "NumMedia is 1 but 2 MediaUrl parameters were sent",
    ),
    "media-fewer-than-declared": (
        with_media("3", 1),
        "NumMedia is 3 but 1 MediaUrl parameters were sent",
    ),
    "num-media-not-a-number": (
        with_media("one", 1),
        "NumMedia 'one' is not a number",
    ),
    "num-media-superscript-digit": (
        inbound_params("malformed", NumMedia="\u00b2"),
        "NumMedia '\u00b2' is not a number",
    ),
    "num-media-too-many": (
        with_media("11", 0),  # the limit is checked before the URLs are counted
        "NumMedia 11 exceeds Twilio's limit of 10",
    ),
    "num-media-huge": (
        inbound_params("malformed", NumMedia="9" * 600),
        "NumMedia 999999999999... exceeds Twilio's limit of 10",
    ),
    "bad-service-sid": (
        inbound_params("malformed", MessagingServiceSid="MG1"),
        "MessagingServiceSid 'MG1' is not a Messaging Service SID",
    ),
    "empty-form": ({}, "missing required parameter MessageSid"),
}


@pytest.mark.parametrize("case", list(SIGNED_CASES))
async def test_signed_but_malformed_params(
    harness: StartHarness, store_url: str | None, case: str
) -> None:
    params, reason = SIGNED_CASES[case]
    h = await harness(redis_url=store_url)
    await h.expect_rejected(await h.post(params), 400, reason)
    await h.prove_nothing_ran()


@pytest.mark.parametrize("case", ["missing-sid", "media-more-than-declared", "empty-form"])
async def test_unsigned_malformed_params_get_403_first(harness: StartHarness, case: str) -> None:
    params, _ = SIGNED_CASES[case]
    h = await harness()
    response = await h.post_bytes(urlencode(params).encode())
    await h.expect_rejected(response, 403, "missing X-Twilio-Signature")
    await h.prove_nothing_ran()


def form_bytes(params: Mapping[str, str]) -> bytes:
    return urlencode(params).encode()


async def test_undecodable_body(harness: StartHarness, store_url: str | None) -> None:
    h = await harness(redis_url=store_url)
    params = inbound_params("caf\u00e9")
    # Latin-1 bytes where UTF-8 was promised: the body cannot be decoded, so cannot be checked.
    body = form_bytes(params).replace(b"caf%C3%A9", b"caf\xe9")
    assert b"\xe9" in body
    signature = sign(AUTH_TOKEN, h.url, params)
    await h.expect_rejected(
        await h.post_bytes(body, signature=signature), 400, "body is not valid UTF-8"
    )
    await h.prove_nothing_ran()


async def test_undecodable_body_without_signature(harness: StartHarness) -> None:
    h = await harness()
    await h.expect_rejected(
        await h.post_bytes(b"Body=\xff\xfe\x00"), 400, "body is not valid UTF-8"
    )
    await h.prove_nothing_ran()


def padded_to(size: int) -> dict[str, str]:
    """Inbound params whose form encoding is exactly size bytes."""
    params = inbound_params("")
    params["Body"] = "x" * (size - len(form_bytes(params)))
    assert len(form_bytes(params)) == size
    return params


async def test_body_over_the_limit(harness: StartHarness, store_url: str | None) -> None:
    h = await harness(redis_url=store_url)
    params = padded_to(MAX_BODY + 1)
    await h.expect_rejected(
        await h.post(params), 400, f"body of {MAX_BODY + 1} bytes exceeds {MAX_BODY} bytes"
    )
    await h.prove_nothing_ran()


async def test_body_over_the_limit_without_content_length(harness: StartHarness) -> None:
    h = await harness()
    params = padded_to(3 * MAX_BODY)
    body = form_bytes(params)

    async def chunks() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        for start in range(0, len(body), 300):
            yield body[start : start + 300]
            await asyncio.sleep(0.005)

    response = await h.post_bytes(chunks(), signature=sign(AUTH_TOKEN, h.url, params))
    assert "Content-Length" not in response.request_info.headers
    await h.expect_rejected(response, 400, f"body exceeds {MAX_BODY} bytes")
    await h.prove_nothing_ran()


async def test_body_at_the_limit_is_accepted_even_in_chunks(harness: StartHarness) -> None:
    h = await harness()
    params = padded_to(MAX_BODY)
    body = form_bytes(params)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]
            await asyncio.sleep(0.005)

    response = await h.post_bytes(chunks(), signature=sign(AUTH_TOKEN, h.url, params))
    assert response.status == 200, await response.text()
    await h.server.idle()
    assert [m.body for m in h.seen] == [params["Body"]]
    assert not any(line["event"] == "webhook rejected" for line in h.logs.take())


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"this is not a form", FORM, "body is not form-encoded"),
        (b"<xml>nope</xml>", "text/xml", "body is not form-encoded"),
        (b"MessageSid=SM1&&From", FORM, "body is not form-encoded"),
        (b'{"MessageSid": "SM1"}', FORM, "body is not form-encoded"),
        (b"\x00\x01\x02garbage", "application/octet-stream", "body is not form-encoded"),
    ],
    ids=["words", "xml", "dangling-key", "json-as-form", "binary"],
)
async def test_non_form_garbage(
    harness: StartHarness, body: bytes, content_type: str, reason: str
) -> None:
    h = await harness()
    signature = sign(AUTH_TOKEN, h.url, {})
    await h.expect_rejected(
        await h.post_bytes(body, content_type=content_type, signature=signature), 400, reason
    )
    await h.prove_nothing_ran()


def json_path(body: bytes) -> str:
    return f"{PATH}?bodySHA256={hashlib.sha256(body).hexdigest()}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"MessageSid=SM1&From", "body is not valid JSON"),
        (b'["MessageSid", "SM1"]', "JSON body must be an object"),
        (b"[" * 500 + b"]" * 500, "body is nested deeper than 32 levels"),
        (b'{"Body": ' * 33 + b"1" + b"}" * 33, "body is nested deeper than 32 levels"),
        (b'{"Body": NaN}', "body holds NaN, which JSON cannot store"),
    ],
    ids=["form-as-json", "json-array", "deep-array", "deep-object", "nan"],
)
async def test_signed_json_garbage(harness: StartHarness, body: bytes, reason: str) -> None:
    h = await harness()
    path = json_path(body)
    response = await h.server.client.post(
        path,
        data=body,
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(AUTH_TOKEN, h.server.url(path), {}),
        },
    )
    await h.expect_rejected(response, 400, reason)
    await h.prove_nothing_ran()


@pytest.mark.parametrize("depth", [33, 1000, 30_000])
async def test_unsigned_deep_json_is_refused_before_it_is_parsed(
    harness: StartHarness, depth: int
) -> None:
    # The probe: 221 of 20,000 fuzzed requests answered 503 with an error-level log line, the
    # parser's RecursionError on an unsigned body.
    h = await harness(max_body_bytes=2 * depth + 1024)
    body = b"[" * depth + b"]" * depth
    response = await h.post_bytes(body, content_type="application/json")
    await h.expect_rejected(response, 403, "missing X-Twilio-Signature")
    await h.prove_nothing_ran()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "identity, gzip"])
@pytest.mark.parametrize("valid", [True, False], ids=["compressed", "not-even-compressed"])
async def test_a_compressed_body_is_refused_unread(
    harness: StartHarness, encoding: str, valid: bool
) -> None:
    # aiohttp inflated request bodies itself: a broken one raised an error of its own (503),
    # and 20 KB of gzip could inflate to 20 MB before the size limit was looked at.
    h = await harness()
    params = inbound_params("compressed")
    body = gzip.compress(form_bytes(params)) if valid else b"\x1f\x8b not gzip"
    response = await h.server.client.post(
        PATH,
        data=body,
        headers={
            "Content-Type": FORM,
            "Content-Encoding": encoding,
            SIGNATURE_HEADER: sign(AUTH_TOKEN, h.url, params),
        },
        skip_auto_headers=["Content-Encoding"],
    )
    await h.expect_rejected(response, 415, "compressed bodies are not accepted (Content-Encoding)")
    await h.prove_nothing_ran()


async def test_malformed_webhooks_never_touch_the_inbound_queue(
    harness: StartHarness, store_url: str | None
) -> None:
    h = await harness(redis_url=store_url, workers=False)
    for params, reason in SIGNED_CASES.values():
        await h.expect_rejected(await h.post(params), 400, reason)
    await h.expect_rejected(await h.post_bytes(b"\xff"), 400, "body is not valid UTF-8")
    assert await h.server.runtime.stores.inbound.backlog() == 0
    assert h.seen == []
