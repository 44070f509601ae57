"""The forgery suite: 41 ways to pass off a request Twilio never signed, on every ``/twilio/*``
endpoint, under every supported URL setting. None may be accepted.

The attacker holds captured, validly signed requests: one for this very endpoint, and others
Twilio made for other URLs of the same account (another host, port, scheme, path or query). Each
variant replays one of them changed, or re-addressed, or signs with the wrong key, or spoofs the
headers a proxy sets. A variant is accepted if it gets a 2xx or 3xx; the inbound queue must also
stay empty. Then the genuine request is sent and must be accepted, proving the setting works and
that the variants were refused for being forgeries.

URL settings: BOTKIT_PUBLIC_URL (with and without a base path, with and without a trusted
proxy), and BOTKIT_PUBLIC_HOSTS (behind a trusted proxy, and without one). Development mode is
not among them: its token is published, so anyone can sign.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import pytest
from multidict import MultiDict

from botkit import Bot
from botkit.twilio.signature import SIGNATURE_HEADER
from tests.conftest import AUTH_TOKEN, BotServer, StartServer
from tests.server.captured import CAPTURED, CONVERSATIONS, ENDPOINTS, MESSAGES, STATUS, recut
from tests.support.webhooks import sign

FORM = "application/x-www-form-urlencoded"
OTHER_HOST = "other-app.example.com"
OTHER_TOKEN = "another-accounts-token-0123456789"
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "bot.example.com"}


@dataclass(frozen=True)
class UrlSetting:
    name: str
    settings: dict[str, object]
    #: The base Twilio calls (and signs), as configured.
    origin: str
    #: Headers on every request: what a trusted proxy sets, or the Host Twilio names.
    always: dict[str, str] = field(default_factory=dict)


URL_SETTINGS = [
    UrlSetting("public-url", {"public_url": "https://bot.example.com"}, "https://bot.example.com"),
    UrlSetting(
        "public-url-with-base-path",
        {"public_url": "https://example.com/bot"},
        "https://example.com/bot",
    ),
    UrlSetting(
        "public-url-behind-proxy",
        {"public_url": "https://bot.example.com", "trust_proxy": True},
        "https://bot.example.com",
        PROXY,
    ),
    UrlSetting(
        "public-hosts-behind-proxy",
        {"public_hosts": "bot.example.com", "trust_proxy": True},
        "https://bot.example.com",
        PROXY,
    ),
    UrlSetting(
        "public-hosts",
        {"public_hosts": "http://bot.internal"},
        "http://bot.internal",
        {"Host": "bot.internal"},
    ),
]


@dataclass
class Request:
    path_qs: str
    body: bytes
    signature: str | None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = FORM


@dataclass
class Scene:
    """One endpoint under one URL setting, and the request Twilio signed for it."""

    setting: UrlSetting
    path: str
    params: dict[str, str]

    def url(self, path_qs: str | None = None, origin: str | None = None) -> str:
        return (origin or self.setting.origin) + (path_qs or self.path)

    def signed(self, params: dict[str, str] | None = None, **where: str) -> str:
        """The signature of params (default: the captured ones) over url(**where)."""
        return sign(AUTH_TOKEN, self.url(**where), self.params if params is None else params)

    def form(self, params: dict[str, str] | list[tuple[str, str]] | None = None) -> bytes:
        return urlencode(self.params if params is None else params).encode()

    def captured(self, **headers: str) -> Request:
        return Request(self.path, self.form(), self.signed(), headers)

    @property
    def key(self) -> str:
        """The field that carries the request's meaning."""
        return "MessageStatus" if self.path == STATUS else "Body"

    @property
    def host(self) -> str:
        return urlsplit(self.setting.origin).netloc

    def other_origin(self, *, scheme: str | None = None, netloc: str | None = None) -> str:
        parts = urlsplit(self.setting.origin)
        return f"{scheme or parts.scheme}://{netloc or parts.netloc}{parts.path}"


def _other_endpoint(path: str) -> str:
    return ENDPOINTS[(ENDPOINTS.index(path) + 1) % len(ENDPOINTS)]


def _json(scene: Scene, body: bytes, signed_body: bytes | None = None, **kw: str) -> Request:
    """A JSON webhook: the URL carries the hash of signed_body (default: body), signed alone."""
    query = f"?bodySHA256={hashlib.sha256(signed_body or body).hexdigest()}"
    signature = kw.pop("signature", None) or scene.signed({}, path_qs=scene.path + query)
    return Request(scene.path + query, body, signature, content_type="application/json")


Variant = Callable[[Scene], Request]

# --- signatures ------------------------------------------------------------------------------


def no_signature(s: Scene) -> Request:
    return Request(s.path, s.form(), None)


def empty_signature(s: Scene) -> Request:
    return Request(s.path, s.form(), "")


def garbage_signature(s: Scene) -> Request:
    return Request(s.path, s.form(), "bm90IGEgc2lnbmF0dXJl")


def other_token(s: Scene) -> Request:
    return Request(s.path, s.form(), sign(OTHER_TOKEN, s.url(), s.params))


def lowercased_signature(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed().lower())


def signature_of_another_request(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed(CAPTURED[s.path]()))


def other_account(s: Scene) -> Request:
    # Another account's app posts here what Twilio signed for it, with its own token.
    params = {**s.params, "AccountSid": "AC" + "2" * 32}
    return Request(s.path, s.form(params), sign(OTHER_TOKEN, s.url(), params))


# --- the URL: host, port, scheme, path ---------------------------------------------------------


def other_host(s: Scene) -> Request:
    origin = s.other_origin(netloc=OTHER_HOST)
    return Request(s.path, s.form(), s.signed(origin=origin), {"Host": OTHER_HOST})


def other_host_forwarded(s: Scene) -> Request:
    origin = s.other_origin(netloc=OTHER_HOST)
    return Request(s.path, s.form(), s.signed(origin=origin), {"X-Forwarded-Host": OTHER_HOST})


def other_port(s: Scene) -> Request:
    netloc = urlsplit(s.setting.origin).hostname + ":8443"  # type: ignore[operator]
    origin = s.other_origin(netloc=netloc)
    headers = {"Host": netloc, "X-Forwarded-Host": netloc}
    return Request(s.path, s.form(), s.signed(origin=origin), headers)


def other_scheme(s: Scene) -> Request:
    scheme = "http" if s.setting.origin.startswith("https") else "https"
    origin = s.other_origin(scheme=scheme)
    return Request(s.path, s.form(), s.signed(origin=origin), {"X-Forwarded-Proto": scheme})


def other_path(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed(path_qs=_other_endpoint(s.path)))


def trailing_slash(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed(path_qs=s.path + "/"))


def path_case(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed(path_qs=s.path.upper()))


def host_case(s: Scene) -> Request:
    netloc = s.host.upper()
    headers = {"Host": netloc, "X-Forwarded-Host": netloc}
    return Request(s.path, s.form(), s.signed(origin=s.other_origin(netloc=netloc)), headers)


def under_another_base_path(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed(origin=s.setting.origin + "/other-app"))


# --- the query -----------------------------------------------------------------------------------


def query_added(s: Scene) -> Request:
    return Request(s.path + "?x=1", s.form(), s.signed())


def query_removed(s: Scene) -> Request:
    return Request(s.path, s.form(), s.signed(path_qs=s.path + "?x=1"))


def query_changed(s: Scene) -> Request:
    return Request(s.path + "?a=2", s.form(), s.signed(path_qs=s.path + "?a=1"))


def query_reordered(s: Scene) -> Request:
    return Request(s.path + "?b=2&a=1", s.form(), s.signed(path_qs=s.path + "?a=1&b=2"))


def params_moved_to_the_query(s: Scene) -> Request:
    return Request(s.path + "?" + s.form().decode(), b"", s.signed())


# --- the parameters ------------------------------------------------------------------------------


def value_changed(s: Scene) -> Request:
    changed = {**s.params, s.key: "undelivered" if s.path == STATUS else "wire me $500"}
    return Request(s.path, s.form(changed), s.signed())


def param_added(s: Scene) -> Request:
    extra = {MESSAGES: ("OptOutType", "STOP"), STATUS: ("ErrorCode", "30003"),
             CONVERSATIONS: ("ContentSid", "HX" + "0" * 32)}[s.path]
    return Request(s.path, s.form({**s.params, extra[0]: extra[1]}), s.signed())


def param_removed(s: Scene) -> Request:
    name = {MESSAGES: "NumSegments", STATUS: "From", CONVERSATIONS: "Attributes"}[s.path]
    return Request(s.path, s.form({k: v for k, v in s.params.items() if k != name}), s.signed())


def param_duplicated(s: Scene) -> Request:
    pairs = [*s.params.items(), (s.key, s.params[s.key])]  # signs as the value once
    return Request(s.path, s.form(pairs), s.signed())


def param_duplicated_with_another_value(s: Scene) -> Request:
    pairs = [*s.params.items(), (s.key, "and something else")]
    return Request(s.path, s.form(pairs), s.signed())


def duplicates_reordered(s: Scene) -> Request:
    # Signed with two values (the validator sorts them); sent in the other order, which
    # a reader taking the first value would read differently.
    signed = [*s.params.items(), (s.key, "zzz")]
    sent = [(k, v) for k, v in signed if k != s.key] + [(s.key, "zzz"), (s.key, s.params[s.key])]
    signature = sign(AUTH_TOKEN, s.url(), MultiDict(signed))
    return Request(s.path, s.form(sent), signature)


def name_case(s: Scene) -> Request:
    lowered = {(k.lower() if k == s.key else k): v for k, v in s.params.items()}
    return Request(s.path, s.form(lowered), s.signed())


def value_case(s: Scene) -> Request:
    sid = "MessageSid"
    changed = {**s.params, sid: s.params[sid][:2] + s.params[sid][2:].upper()}
    return Request(s.path, s.form(changed), s.signed())


# --- boundary shifts: re-cut, with the captured signature --------------------------------------

SHIFTS = {
    MESSAGES: [("AccountSid", "ApiVersion"), ("ApiVersion", "Body"), ("Body", "From")],
    STATUS: [("AccountSid", "ApiVersion"), ("ApiVersion", "From"), ("MessageSid", "MessageStatus")],
    CONVERSATIONS: [("AccountSid", "Attributes"), ("Author", "Body"), ("Body", "ChatServiceSid")],
}


def _shift(index: int) -> Variant:
    def shifted(s: Scene) -> Request:
        into, absorbed = SHIFTS[s.path][index]
        recut_params = recut(s.params, into, absorbed)
        assert s.signed(recut_params) == s.signed()  # the signature cannot tell
        return Request(s.path, s.form(recut_params), s.signed())

    shifted.__name__ = f"boundary_shift_{index + 1}"
    return shifted


# --- JSON (bodySHA256) ---------------------------------------------------------------------------


def json_body_tampered(s: Scene) -> Request:
    original = json.dumps(s.params).encode()
    tampered = json.dumps({**s.params, s.key: "wire me $500"}).encode()
    return _json(s, tampered, signed_body=original)


def json_rehashed_with_the_old_signature(s: Scene) -> Request:
    original = json.dumps(s.params).encode()
    tampered = json.dumps({**s.params, s.key: "wire me $500"}).encode()
    old = _json(s, original).signature
    assert old is not None
    return _json(s, tampered, signature=old)


def json_without_body_hash(s: Scene) -> Request:
    body = json.dumps(s.params).encode()
    return Request(s.path, body, s.signed({}), content_type="application/json")


def json_signature_as_an_empty_form(s: Scene) -> Request:
    signed = _json(s, json.dumps(s.params).encode())
    return Request(signed.path_qs, b"", signed.signature)


def json_with_a_form_signature(s: Scene) -> Request:
    body = json.dumps(s.params).encode()
    query = f"?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = s.signed(path_qs=s.path + query)  # over the URL *and* the params
    return Request(s.path + query, body, signature, content_type="application/json")


# --- forwarded headers spoofed -----------------------------------------------------------------


def forwarded_host_list(s: Scene) -> Request:
    origin = s.other_origin(netloc=OTHER_HOST)
    headers = {"X-Forwarded-Host": f"{OTHER_HOST}, {s.host}"}
    return Request(s.path, s.form(), s.signed(origin=origin), headers)


def forwarded_proto_list(s: Scene) -> Request:
    scheme = "http" if s.setting.origin.startswith("https") else "https"
    headers = {"X-Forwarded-Proto": f"{scheme}, https"}
    return Request(s.path, s.form(), s.signed(origin=s.other_origin(scheme=scheme)), headers)


def rfc7239_forwarded(s: Scene) -> Request:
    origin = s.other_origin(netloc=OTHER_HOST)
    headers = {"Forwarded": f"host={OTHER_HOST};proto=https"}
    return Request(s.path, s.form(), s.signed(origin=origin), headers)


def original_host_headers(s: Scene) -> Request:
    origin = s.other_origin(netloc=OTHER_HOST)
    headers = {"X-Original-Host": OTHER_HOST, "X-Forwarded-Server": OTHER_HOST,
               "X-Host": OTHER_HOST}
    return Request(s.path, s.form(), s.signed(origin=origin), headers)


VARIANTS: list[Variant] = [
    no_signature, empty_signature, garbage_signature, other_token, lowercased_signature,
    signature_of_another_request, other_account,
    other_host, other_host_forwarded, other_port, other_scheme, other_path, trailing_slash,
    path_case, host_case, under_another_base_path,
    query_added, query_removed, query_changed, query_reordered, params_moved_to_the_query,
    value_changed, param_added, param_removed, param_duplicated,
    param_duplicated_with_another_value, duplicates_reordered, name_case, value_case,
    _shift(0), _shift(1), _shift(2),
    json_body_tampered, json_rehashed_with_the_old_signature, json_without_body_hash,
    json_signature_as_an_empty_form, json_with_a_form_signature,
    forwarded_host_list, forwarded_proto_list, rfc7239_forwarded, original_host_headers,
]


def _headers(setting: UrlSetting, request: Request) -> dict[str, str]:
    """What arrives: the client's headers, with what the proxy sets; an appending proxy puts
    its value after the client's."""
    headers = {"Content-Type": request.content_type, **request.headers}
    for name, value in setting.always.items():
        if name in request.headers and name.startswith("X-Forwarded"):
            headers[name] = f"{request.headers[name]}, {value}"
        elif name not in request.headers:
            headers[name] = value
    if request.signature is not None:
        headers[SIGNATURE_HEADER] = request.signature
    return headers


async def send(server: BotServer, setting: UrlSetting, request: Request) -> int:
    response = await server.client.post(
        request.path_qs, data=request.body, headers=_headers(setting, request)
    )
    await response.read()
    return response.status


def test_at_least_30_variants_per_endpoint() -> None:
    assert len({v.__name__ for v in VARIANTS}) == len(VARIANTS) >= 30


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("setting", URL_SETTINGS, ids=lambda s: s.name)
async def test_no_forgery_is_accepted(
    start_server: StartServer, setting: UrlSetting, path: str
) -> None:
    server = await start_server(Bot("forgeries"), workers=False, **setting.settings)
    scene = Scene(setting, path, CAPTURED[path]())
    accepted = []
    for variant in VARIANTS:
        status = await send(server, setting, variant(scene))
        if status < 400:
            accepted.append((variant.__name__, status))
    assert accepted == [], f"accepted under {setting.name} on {path}"
    assert await server.runtime.stores.inbound.backlog() == 0
    # The request Twilio signed is accepted: the variants were refused as forgeries.
    assert await send(server, setting, scene.captured()) == 200
    assert await server.runtime.stores.inbound.backlog() == 1
