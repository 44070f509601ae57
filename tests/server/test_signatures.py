"""X-Twilio-Signature: no forged webhook runs a handler, and real ones pass behind proxies.

End-to-end cases run against the real app (``start_server``). Every forged request is followed
by one valid message, so "nothing ran" is proven by the handler having seen exactly that valid
message and Twilio having received exactly its reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import ClientResponse
from multidict import CIMultiDict, MultiDict

from botkit.twilio.signature import SIGNATURE_HEADER, RequestFacts, SignatureVerifier, signed_url
from tests.conftest import AUTH_TOKEN, StartServer
from tests.support.echo_harness import EchoHarness, echo_bot
from tests.support.logs import JsonLogs
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import USER, inbound_params, sign

PATH = "/twilio/messages"
PUBLIC = "https://bot.example.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
MISSING = "missing X-Twilio-Signature"
INVALID = "invalid X-Twilio-Signature"

VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_TOKEN = "12345"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


# --- the bot under test ------------------------------------------------------------------------


@dataclass
class Harness(EchoHarness):
    startup_logs: list[dict[str, Any]]

    def local_url(self, path: str = PATH) -> str:
        return self.server.url(path)

    async def post_raw(
        self,
        params: Mapping[str, str],
        signature: str | None,
        *,
        path: str = PATH,
        headers: Mapping[str, str] | None = None,
    ) -> ClientResponse:
        """POST params with exactly this signature header (None: no header)."""
        all_headers = dict(headers or {})
        if signature is not None:
            all_headers[SIGNATURE_HEADER] = signature
        return await self.server.client.post(path, data=dict(params), headers=all_headers)

    async def expect_accepted(self, response: ClientResponse, params: Mapping[str, str]) -> None:
        assert response.status == 200, await response.text()
        assert await response.text() == EMPTY_TWIML
        assert response.content_type == "text/xml"
        await self.server.idle()
        assert [m.sid for m in self.seen] == [params["MessageSid"]]
        assert self.seen[0].body == params["Body"]

    async def expect_forbidden(self, response: ClientResponse, reason: str, url: str) -> None:
        """403 with the reason, and exactly one log line naming the URL that was tried."""
        line = await self.expect_rejected(response, 403, reason)
        assert line["url"] == url


StartHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
def harness(
    logs: JsonLogs, start_server: StartServer, twilio: SandboxTwilio
) -> StartHarness:
    async def start(**settings: Any) -> Harness:
        bot, seen = echo_bot("signatures")
        server = await start_server(bot, **settings)
        return Harness(server, twilio, logs, seen, logs.take())

    return start


# --- unit: the verifier and the signed URL ------------------------------------------------------


def test_twilio_test_vector_sign() -> None:
    verifier = SignatureVerifier(VECTOR_TOKEN)
    assert verifier.sign(VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE


@pytest.mark.parametrize("params", [VECTOR_PARAMS, MultiDict(VECTOR_PARAMS)], ids=["dict", "multi"])
def test_twilio_test_vector_verify(params: Mapping[str, str]) -> None:
    verifier = SignatureVerifier(VECTOR_TOKEN)
    assert verifier.verify_form(VECTOR_URL, params, VECTOR_SIGNATURE)


def test_test_vector_verifies_with_the_default_port_added() -> None:
    verifier = SignatureVerifier(VECTOR_TOKEN)
    url = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    assert verifier.verify_form(url, VECTOR_PARAMS, VECTOR_SIGNATURE)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        ("54321", VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE),
        (VECTOR_TOKEN, VECTOR_URL.replace("foo=1", "foo=2"), VECTOR_PARAMS, VECTOR_SIGNATURE),
        (VECTOR_TOKEN, "https://mycompany.com/myapp.php", VECTOR_PARAMS, VECTOR_SIGNATURE),
        (VECTOR_TOKEN, "http://mycompany.com/myapp.php?foo=1&bar=2", VECTOR_PARAMS,
         VECTOR_SIGNATURE),
        (VECTOR_TOKEN, VECTOR_URL, {**VECTOR_PARAMS, "Digits": "1235"}, VECTOR_SIGNATURE),
        (VECTOR_TOKEN, VECTOR_URL, {**VECTOR_PARAMS, "Extra": ""}, VECTOR_SIGNATURE),
        (VECTOR_TOKEN, VECTOR_URL, {k: v for k, v in VECTOR_PARAMS.items() if k != "To"},
         VECTOR_SIGNATURE),
        (VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, VECTOR_SIGNATURE.lower()),
        (VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, ""),
        (VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS, None),
    ],
    ids=[
        "other-token", "other-query", "no-query", "http", "changed-param",
        "added-param", "removed-param", "wrong-signature", "empty-signature", "no-signature",
    ],
)
def test_verify_form_rejects(
    token: str, url: str, params: Mapping[str, str], signature: str | None
) -> None:
    assert not SignatureVerifier(token).verify_form(url, params, signature)


@pytest.mark.parametrize(
    "signed_over",
    [
        "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
        "https://mycompany.com:80/myapp.php?foo=1&bar=2",
        "http://mycompany.com:443/myapp.php?foo=1&bar=2",
    ],
)
def test_only_the_default_port_is_equivalent(signed_over: str) -> None:
    verifier = SignatureVerifier(VECTOR_TOKEN)
    signature = verifier.sign(signed_over, VECTOR_PARAMS)
    assert signature != VECTOR_SIGNATURE
    assert not verifier.verify_form(VECTOR_URL, VECTOR_PARAMS, signature)


def test_repeated_keys_are_all_signed() -> None:
    verifier = SignatureVerifier(AUTH_TOKEN)
    url = "https://bot.example.com/twilio/messages"
    params = MultiDict([("Tag", "a"), ("Tag", "b"), ("Body", "x")])
    signature = verifier.sign(url, params)
    reordered = MultiDict([("Body", "x"), ("Tag", "b"), ("Tag", "a")])
    assert verifier.verify_form(url, reordered, signature)
    assert not verifier.verify_form(url, MultiDict([("Tag", "a"), ("Body", "x")]), signature)
    added = MultiDict([("Tag", "a"), ("Tag", "b"), ("Tag", "c"), ("Body", "x")])
    assert not verifier.verify_form(url, added, signature)


def test_verify_json_checks_body_hash_and_url() -> None:
    verifier = SignatureVerifier(AUTH_TOKEN)
    body = '{"MessageSid": "SM1"}'
    url = f"{PUBLIC}{PATH}?bodySHA256={hashlib.sha256(body.encode()).hexdigest()}"
    signature = verifier.sign(url, {})
    assert verifier.verify_json(url, body, signature)
    assert verifier.verify_json(url.replace(PUBLIC, PUBLIC + ":443"), body, signature)
    assert not verifier.verify_json(url, body.replace("SM1", "SM2"), signature)
    assert not verifier.verify_json(url, body, None)
    assert not verifier.verify_json(url, body, verifier.sign(url, {"MessageSid": "SM1"}))


def test_verify_json_requires_body_sha256_in_the_url() -> None:
    verifier = SignatureVerifier(AUTH_TOKEN)
    url = f"{PUBLIC}{PATH}"
    assert not verifier.verify_json(url, "{}", verifier.sign(url, {}))


def facts(
    path_qs: str = "/twilio/messages?foo=1&bar=2", **headers: str
) -> RequestFacts:
    return RequestFacts(
        scheme="http",
        host="10.0.0.5:8080",
        path_qs=path_qs,
        headers=CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()}),
    )


FORWARDED = {"x_forwarded_proto": "https", "x_forwarded_host": "bot.example.com"}


def test_signed_url_is_what_the_server_saw_by_default() -> None:
    assert signed_url(facts(), None, False) == "http://10.0.0.5:8080/twilio/messages?foo=1&bar=2"


def test_signed_url_ignores_forwarded_headers_unless_trusted() -> None:
    url = signed_url(facts(**FORWARDED), None, False)
    assert url == "http://10.0.0.5:8080/twilio/messages?foo=1&bar=2"


def test_signed_url_uses_forwarded_headers_of_a_trusted_proxy() -> None:
    url = signed_url(facts(**FORWARDED), None, True)
    assert url == "https://bot.example.com/twilio/messages?foo=1&bar=2"


def test_signed_url_takes_the_client_most_forwarded_value() -> None:
    url = signed_url(
        facts(x_forwarded_proto="https, http", x_forwarded_host="bot.example.com, lb.internal"),
        None,
        True,
    )
    assert url == "https://bot.example.com/twilio/messages?foo=1&bar=2"


def test_signed_url_falls_back_per_header_when_trusted() -> None:
    assert signed_url(facts(x_forwarded_proto="https"), None, True) == (
        "https://10.0.0.5:8080/twilio/messages?foo=1&bar=2"
    )
    assert signed_url(facts(x_forwarded_host="bot.example.com"), None, True) == (
        "http://bot.example.com/twilio/messages?foo=1&bar=2"
    )
    assert signed_url(facts(x_forwarded_proto=" ", x_forwarded_host=""), None, True) == (
        "http://10.0.0.5:8080/twilio/messages?foo=1&bar=2"
    )


@pytest.mark.parametrize("trust_proxy", [False, True])
def test_signed_url_public_url_wins_over_everything(trust_proxy: bool) -> None:
    url = signed_url(facts(x_forwarded_host="evil.example.com"), PUBLIC, trust_proxy)
    assert url == "https://bot.example.com/twilio/messages?foo=1&bar=2"


def test_signed_url_public_url_trailing_slash_and_base_path() -> None:
    assert signed_url(facts(PATH), PUBLIC + "/", False) == PUBLIC + PATH
    assert signed_url(facts(PATH), "https://example.com/bot", False) == (
        "https://example.com/bot/twilio/messages"
    )


def test_signed_url_keeps_the_raw_query_string() -> None:
    raw = "/twilio/messages?to=%2B15550001111&msg=a%20b&empty="
    assert signed_url(facts(raw), PUBLIC, False) == PUBLIC + raw


# --- end to end: forged requests run nothing ----------------------------------------------------


async def forge_missing_header(h: Harness) -> tuple[ClientResponse, str]:
    return await h.post_raw(inbound_params("forged"), None), MISSING


async def forge_empty_header(h: Harness) -> tuple[ClientResponse, str]:
    return await h.post_raw(inbound_params("forged"), ""), MISSING


async def forge_wrong_signature(h: Harness) -> tuple[ClientResponse, str]:
    return await h.post_raw(inbound_params("forged"), "bm90IGEgc2lnbmF0dXJl"), INVALID


async def forge_other_token(h: Harness) -> tuple[ClientResponse, str]:
    params = inbound_params("forged")
    return await h.post_raw(params, sign("not-the-token", h.local_url(), params)), INVALID


async def forge_tampered_param(h: Harness) -> tuple[ClientResponse, str]:
    signed = inbound_params("hi")
    sent = {**signed, "Body": "forged"}
    return await h.post_raw(sent, sign(AUTH_TOKEN, h.local_url(), signed)), INVALID


async def forge_added_param(h: Harness) -> tuple[ClientResponse, str]:
    signed = inbound_params("forged")
    sent = {**signed, "MessagingServiceSid": "MG" + "e" * 32}
    return await h.post_raw(sent, sign(AUTH_TOKEN, h.local_url(), signed)), INVALID


async def forge_removed_param(h: Harness) -> tuple[ClientResponse, str]:
    signed = inbound_params("forged", OptOutType="STOP")
    sent = {k: v for k, v in signed.items() if k != "OptOutType"}
    return await h.post_raw(sent, sign(AUTH_TOKEN, h.local_url(), signed)), INVALID


async def forge_other_endpoint(h: Harness) -> tuple[ClientResponse, str]:
    params = inbound_params("forged")
    return await h.post_raw(params, sign(AUTH_TOKEN, h.local_url("/twilio/status"), params)), (
        INVALID
    )


FORGERIES = [
    forge_missing_header,
    forge_empty_header,
    forge_wrong_signature,
    forge_other_token,
    forge_tampered_param,
    forge_added_param,
    forge_removed_param,
    forge_other_endpoint,
]


@pytest.mark.parametrize("forge", FORGERIES, ids=lambda f: f.__name__.removeprefix("forge_"))
async def test_forged_webhook_runs_nothing(
    harness: StartHarness,
    store_url: str | None,
    forge: Callable[[Harness], Awaitable[tuple[ClientResponse, str]]],
) -> None:
    h = await harness(redis_url=store_url)
    response, reason = await forge(h)
    await h.expect_forbidden(response, reason, h.local_url())
    await h.prove_nothing_ran()


async def test_valid_signature_is_accepted(harness: StartHarness, store_url: str | None) -> None:
    h = await harness(redis_url=store_url)
    params = inbound_params("hello", FromCity="BERKELEY", SomethingNew="added by Twilio")
    await h.expect_accepted(await h.post(params), params)
    assert h.seen[0].params["SomethingNew"] == "added by Twilio"
    assert not any(line["event"] == "webhook rejected" for line in h.logs.take())
    sent = await h.fake.wait_for(1)
    assert sent[0].body == "echo: hello"


async def test_a_signature_cannot_be_replayed_for_another_message(
    harness: StartHarness,
) -> None:
    h = await harness()
    first = inbound_params("first")
    signature = sign(AUTH_TOKEN, h.local_url(), first)
    await h.expect_accepted(await h.post_raw(first, signature), first)
    second = {**first, "MessageSid": inbound_params()["MessageSid"], "Body": "second"}
    h.logs.take()
    await h.expect_forbidden(await h.post_raw(second, signature), INVALID, h.local_url())
    await h.server.idle()
    assert [m.body for m in h.seen] == ["first"]


async def test_signed_body_arriving_in_chunks_is_read_whole(harness: StartHarness) -> None:
    h = await harness()
    params = inbound_params("x" * 3000)
    signature = sign(AUTH_TOKEN, h.local_url(), params)
    body = urlencode(params).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 700):
            yield body[start : start + 700]
            await asyncio.sleep(0.01)

    response = await h.server.client.post(
        PATH,
        data=chunks(),
        headers={
            SIGNATURE_HEADER: signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    await h.expect_accepted(response, params)


# --- end to end: port variants and public URL ----------------------------------------------------


@pytest.mark.parametrize(
    ("public_url", "signed"),
    [
        ("https://bot.example.com", "https://bot.example.com/twilio/messages"),
        ("https://bot.example.com", "https://bot.example.com:443/twilio/messages"),
        ("https://bot.example.com:443", "https://bot.example.com/twilio/messages"),
        ("https://bot.example.com:443", "https://bot.example.com:443/twilio/messages"),
        ("http://bot.example.com", "http://bot.example.com:80/twilio/messages"),
        ("http://bot.example.com:80", "http://bot.example.com/twilio/messages"),
    ],
)
async def test_both_port_variants_are_accepted(
    harness: StartHarness, store_url: str | None, public_url: str, signed: str
) -> None:
    h = await harness(redis_url=store_url, public_url=public_url)
    params = inbound_params("ported")
    await h.expect_accepted(await h.post(params, signed_url=signed), params)


@pytest.mark.parametrize(
    "signed",
    [
        "https://bot.example.com:8443/twilio/messages",
        "https://bot.example.com:80/twilio/messages",
        "http://bot.example.com/twilio/messages",
        "https://other.example.com/twilio/messages",
        "https://bot.example.com/twilio/messages/",
    ],
)
async def test_other_urls_are_rejected_under_public_url(
    harness: StartHarness, signed: str
) -> None:
    h = await harness(public_url=PUBLIC)
    response = await h.post(inbound_params("forged"), signed_url=signed)
    await h.expect_forbidden(response, INVALID, PUBLIC + PATH)
    await h.prove_nothing_ran(signed_url=PUBLIC + PATH)


async def test_behind_proxy_public_url_keeps_path_and_query(
    harness: StartHarness, store_url: str | None
) -> None:
    h = await harness(redis_url=store_url, public_url=PUBLIC)
    path = PATH + "?foo=1&bar=2"
    params = inbound_params("proxied")
    response = await h.post(params, path=path, signed_url=PUBLIC + path)
    await h.expect_accepted(response, params)


async def test_behind_proxy_encoded_query_is_signed_as_sent(harness: StartHarness) -> None:
    h = await harness(public_url=PUBLIC)
    path = PATH + "?to=%2B15550001111&note=a%20b&empty="
    params = inbound_params("encoded")
    response = await h.post(params, path=path, signed_url=PUBLIC + path)
    await h.expect_accepted(response, params)


async def test_behind_proxy_query_is_part_of_the_signed_url(harness: StartHarness) -> None:
    h = await harness(public_url=PUBLIC)
    path = PATH + "?foo=1&bar=2"
    response = await h.post(inbound_params("forged"), path=path, signed_url=PUBLIC + PATH)
    await h.expect_forbidden(response, INVALID, PUBLIC + path)
    await h.prove_nothing_ran(signed_url=PUBLIC + PATH)


async def test_behind_proxy_the_local_url_is_not_accepted(harness: StartHarness) -> None:
    h = await harness(public_url=PUBLIC)
    response = await h.post(inbound_params("forged"))  # signed over http://127.0.0.1:port/...
    await h.expect_forbidden(response, INVALID, PUBLIC + PATH)
    await h.prove_nothing_ran(signed_url=PUBLIC + PATH)


async def test_public_url_with_a_base_path(harness: StartHarness) -> None:
    h = await harness(public_url="https://example.com/bot/")
    params = inbound_params("based")
    response = await h.post(params, signed_url="https://example.com/bot/twilio/messages")
    await h.expect_accepted(response, params)


# --- end to end: forwarded headers --------------------------------------------------------------

PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com"}


async def test_trusted_forwarded_headers_are_accepted(
    harness: StartHarness, store_url: str | None
) -> None:
    # With an account, the forwarded host must be one of BOTKIT_PUBLIC_HOSTS.
    h = await harness(redis_url=store_url, trust_proxy=True, public_hosts="bot.example.com")
    params = inbound_params("forwarded")
    response = await h.post(params, signed_url=PUBLIC + PATH, headers=PROXY_HEADERS)
    await h.expect_accepted(response, params)


async def test_trusted_forwarded_header_lists_use_the_client_most_value(
    harness: StartHarness,
) -> None:
    h = await harness(trust_proxy=True, public_hosts="bot.example.com")
    headers = {
        "X-Forwarded-Proto": "https, http",
        "X-Forwarded-Host": "bot.example.com, ingress.internal:8080",
    }
    params = inbound_params("chain")
    response = await h.post(params, signed_url=PUBLIC + PATH + "?a=1", path=PATH + "?a=1",
                            headers=headers)
    await h.expect_accepted(response, params)


async def test_trusted_proxy_without_forwarded_headers_uses_the_local_url(
    harness: StartHarness,
) -> None:
    h = await harness(trust_proxy=True)
    params = inbound_params("direct")
    await h.expect_accepted(await h.post(params), params)


async def test_forwarded_headers_are_ignored_when_not_trusted(
    harness: StartHarness, store_url: str | None
) -> None:
    h = await harness(redis_url=store_url, trust_proxy=False)
    response = await h.post(
        inbound_params("forged"), signed_url=PUBLIC + PATH, headers=PROXY_HEADERS
    )
    await h.expect_forbidden(response, INVALID, h.local_url())
    await h.prove_nothing_ran()


async def test_forwarded_headers_cannot_override_public_url(harness: StartHarness) -> None:
    h = await harness(public_url=PUBLIC, trust_proxy=True)
    evil = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com"}
    response = await h.post(
        inbound_params("forged"), signed_url="https://evil.example.com" + PATH, headers=evil
    )
    await h.expect_forbidden(response, INVALID, PUBLIC + PATH)
    await h.prove_nothing_ran(signed_url=PUBLIC + PATH)


# --- end to end: JSON bodies (bodySHA256) -------------------------------------------------------


def json_path(body: bytes) -> str:
    return f"{PATH}?bodySHA256={hashlib.sha256(body).hexdigest()}"


async def post_json(h: Harness, path: str, body: bytes, signature: str) -> ClientResponse:
    return await h.server.client.post(
        path,
        data=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature},
    )


async def test_json_body_with_body_sha256_is_accepted(
    harness: StartHarness, store_url: str | None
) -> None:
    h = await harness(redis_url=store_url)
    params = inbound_params("json hello")
    body = json.dumps(params).encode()
    path = json_path(body)
    response = await post_json(h, path, body, sign(AUTH_TOKEN, h.local_url(path), {}))
    await h.expect_accepted(response, params)
    assert h.seen[0].sender.number == USER


async def test_json_body_behind_public_url(harness: StartHarness) -> None:
    h = await harness(public_url=PUBLIC)
    params = inbound_params("json proxied")
    body = json.dumps(params).encode()
    path = json_path(body)
    response = await post_json(h, path, body, sign(AUTH_TOKEN, PUBLIC + ":443" + path, {}))
    await h.expect_accepted(response, params)


async def test_tampered_json_body_is_rejected(harness: StartHarness) -> None:
    h = await harness()
    original = json.dumps(inbound_params("hi")).encode()
    path = json_path(original)
    signature = sign(AUTH_TOKEN, h.local_url(path), {})
    tampered = original.replace(b'"hi"', b'"forged"')
    assert tampered != original
    await h.expect_forbidden(
        await post_json(h, path, tampered, signature), INVALID, h.local_url(path)
    )
    await h.prove_nothing_ran()


async def test_json_body_with_rehashed_url_but_old_signature_is_rejected(
    harness: StartHarness,
) -> None:
    h = await harness()
    original = json.dumps(inbound_params("hi")).encode()
    signature = sign(AUTH_TOKEN, h.local_url(json_path(original)), {})
    tampered = json.dumps(inbound_params("forged")).encode()
    path = json_path(tampered)
    await h.expect_forbidden(
        await post_json(h, path, tampered, signature), INVALID, h.local_url(path)
    )
    await h.prove_nothing_ran()


async def test_json_body_without_body_sha256_is_rejected(harness: StartHarness) -> None:
    h = await harness()
    body = json.dumps(inbound_params("forged")).encode()
    signature = sign(AUTH_TOKEN, h.local_url(), {})
    await h.expect_forbidden(await post_json(h, PATH, body, signature), INVALID, h.local_url())
    await h.prove_nothing_ran()


async def test_json_body_without_signature_is_rejected(harness: StartHarness) -> None:
    h = await harness()
    body = json.dumps(inbound_params("forged")).encode()
    path = json_path(body)
    response = await h.server.client.post(
        path, data=body, headers={"Content-Type": "application/json"}
    )
    await h.expect_forbidden(response, MISSING, h.local_url(path))
    await h.prove_nothing_ran()


# --- validation switched off ---------------------------------------------------------------------


async def test_validation_off_accepts_unsigned_requests_and_says_so(
    harness: StartHarness, store_url: str | None
) -> None:
    h = await harness(redis_url=store_url, validate_signatures=False)
    warnings = [line for line in h.startup_logs if "SIGNATURE VALIDATION IS OFF" in line["event"]]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
    params = inbound_params("unsigned")
    await h.expect_accepted(await h.post_raw(params, None), params)
    assert not any(line["event"] == "webhook rejected" for line in h.logs.take())


async def test_validation_on_does_not_warn(harness: StartHarness) -> None:
    h = await harness()
    assert not any("SIGNATURE" in line["event"] for line in h.startup_logs)
