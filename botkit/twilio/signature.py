"""Checking X-Twilio-Signature against the URL Twilio actually called.

The hard part is not the HMAC (twilio's RequestValidator does that, including both port
variants) but knowing which URL Twilio signed when a proxy or tunnel sits in front of us. The
rules, in order: an explicit public base URL; else forwarded headers, only from a trusted proxy;
else the URL this server saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True)
class RequestFacts:
    """What the verifier needs from an HTTP request, independent of the web framework."""

    scheme: str
    host: str
    path_qs: str
    headers: Mapping[str, str]


def signed_url(facts: RequestFacts, public_url: str | None, trust_proxy: bool) -> str:
    """The URL Twilio must have signed for this request."""
    if public_url:
        return public_url.rstrip("/") + facts.path_qs
    scheme, host = facts.scheme, facts.host
    if trust_proxy:
        scheme = _first(facts.headers.get("X-Forwarded-Proto")) or scheme
        host = _first(facts.headers.get("X-Forwarded-Host")) or host
    return f"{scheme}://{host}{facts.path_qs}"


def _first(value: str | None) -> str | None:
    """The client-most value of a comma-separated forwarded header."""
    if not value:
        return None
    return value.split(",")[0].strip() or None


class SignatureVerifier:
    """Validates form-encoded and JSON (bodySHA256) webhooks with twilio's RequestValidator."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def verify_form(self, url: str, params: object, signature: str | None) -> bool:
        """params: a mapping or multidict of every POST parameter received."""
        if not signature:
            return False
        return bool(self._validator.validate(url, params, signature))

    def verify_json(self, url: str, raw_body: str, signature: str | None) -> bool:
        """JSON webhooks sign the URL only; the URL carries bodySHA256 of the raw body."""
        if not signature or "bodySHA256" not in parse_qs(urlsplit(url).query):
            return False
        return bool(self._validator.validate(url, raw_body, signature))

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The signature Twilio would send; used by the sandbox and by tests."""
        return str(self._validator.compute_signature(url, params))
