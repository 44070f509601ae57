"""HTTP Basic auth as Twilio checks it: the account SID (or an API key) and its secret."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from botkit.sandbox.config import SandboxConfig
from botkit.sandbox.errors import ApiError

AUTH_FAILED = ApiError(401, 20003, "Authentication Error - invalid username")


#: (account SID, auth token) -> the Authorization header a client such as twilio's SDK sends
#: for them, or None when the SID holds a colon (then only decoding tells user from secret).
_CANONICAL: dict[tuple[str, str], str | None] = {}


def _canonical_header(account_sid: str, auth_token: str) -> str | None:
    key = (account_sid, auth_token)
    try:
        return _CANONICAL[key]
    except KeyError:
        pass
    if len(_CANONICAL) >= 16:
        _CANONICAL.clear()
    header = None
    if ":" not in account_sid:
        encoded = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        header = f"Basic {encoded}"
    _CANONICAL[key] = header
    return header


def require_account(request: web.Request, config: SandboxConfig) -> str:
    """The authenticated account SID, which must also be the one in the path if any."""
    header = request.headers.get("Authorization", "")
    canonical = _canonical_header(config.account_sid, config.auth_token)
    if canonical is not None and header.isascii() and hmac.compare_digest(header, canonical):
        # What decoding would find (the account's own SID and token), without decoding.
        return _in_path(request, config, config.account_sid)
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise AUTH_FAILED
    try:
        user, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AUTH_FAILED from None
    valid = hmac.compare_digest(user, config.account_sid) and hmac.compare_digest(
        secret, config.auth_token
    )
    if not valid:
        raise AUTH_FAILED
    return _in_path(request, config, user)


def _in_path(request: web.Request, config: SandboxConfig, user: str) -> str:
    in_path = request.match_info.get("account")
    if in_path is not None and in_path != config.account_sid:
        raise ApiError(404, 20404, f"The requested resource /Accounts/{in_path} was not found")
    return user
