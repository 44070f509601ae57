"""Checking X-Twilio-Signature against the URL Twilio actually called.

The hard part is not the HMAC (twilio's RequestValidator does that, including both port
variants) but knowing which URL Twilio signed when a proxy or tunnel sits in front of us. The
rules, in order: an explicit public base URL; else one of the configured public hosts, named by
the request (its Host, or a trusted proxy's X-Forwarded-Host and -Proto); else, in development
only, the URL this server saw.

Whatever the request names, the origin that is signed over comes from configuration: a caller
who may choose the URL may replay any signature Twilio made for the same account.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from twilio.request_validator import RequestValidator, compare

SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True)
class RequestFacts:
    """What the verifier needs from an HTTP request, independent of the web framework."""

    scheme: str
    host: str
    path_qs: str
    headers: Mapping[str, str]


def signed_url(
    facts: RequestFacts,
    public_url: str | None,
    trust_proxy: bool,
    public_hosts: Collection[str] = (),
) -> str | None:
    """The URL Twilio must have signed for this request; None when it names a host that is not
    one of ``public_hosts`` (origins as ``public_origin`` spells them)."""
    if public_url:
        return public_url.rstrip("/") + facts.path_qs
    scheme, host = facts.scheme, facts.host
    if trust_proxy:
        scheme = _first(facts.headers.get("X-Forwarded-Proto")) or scheme
        host = _first(facts.headers.get("X-Forwarded-Host")) or host
    if public_hosts:
        try:
            named = public_origin(host, scheme)
        except ValueError:
            return None
        return named + facts.path_qs if named in public_hosts else None
    return f"{scheme}://{host}{facts.path_qs}"


def public_origin(text: str, default_scheme: str = "https") -> str:
    """``scheme://host[:port]`` in one spelling (lower case, no default port), from a host,
    ``host:port`` or origin; ValueError for anything else (a path, user info, no host)."""
    value = text.strip()
    if "://" not in value:
        value = f"{default_scheme}://{value}"
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{text!r} has an invalid port") from None
    if (
        parts.scheme.lower() not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or not re.fullmatch(r"[A-Za-z0-9.:\[\]-]+", parts.netloc)
    ):
        raise ValueError(f"{text!r} is not a host, host:port or http(s)://host[:port]")
    scheme = parts.scheme.lower()
    host = parts.netloc.lower().rsplit(":", 1)[0] if port is not None else parts.netloc.lower()
    shown_port = "" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}"
    return f"{scheme}://{host}{shown_port}"


_DEFAULT_PORTS = {"http": 80, "https": 443}


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
        """params: a mapping or multidict of every POST parameter received.

        A URL that carries bodySHA256 belongs to a JSON webhook, whose signature covers the URL
        alone: it would also pass for a form with no parameters, so it never passes as a form.
        """
        if not signature or _has_body_hash(url):
            return False
        # The URL as called is the one Twilio signed, nearly always: one HMAC, where
        # validate() always computes two (the URL with and without its port) and parses it.
        # Anything else gets validate() itself, both port variants included.
        if compare(self._validator.compute_signature(url, params), signature):
            return True
        return bool(self._validator.validate(url, params, signature))

    def verify_json(self, url: str, raw_body: str, signature: str | None) -> bool:
        """JSON webhooks sign the URL only; the URL carries bodySHA256 of the raw body."""
        if not signature or not _has_body_hash(url):
            return False
        return bool(self._validator.validate(url, raw_body, signature))

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The signature Twilio would send; used by the sandbox and by tests."""
        return str(self._validator.compute_signature(url, params))


def _has_body_hash(url: str) -> bool:
    return "bodySHA256" in parse_qs(urlsplit(url).query, keep_blank_values=True)
