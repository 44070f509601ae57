"""HTTP Basic auth as Twilio checks it: the account SID (or an API key) and its secret."""

from __future__ import annotations

import base64
import binascii
import hmac

from aiohttp import web

from botkit.sandbox.config import SandboxConfig
from botkit.sandbox.errors import ApiError

AUTH_FAILED = ApiError(401, 20003, "Authentication Error - invalid username")


def require_account(request: web.Request, config: SandboxConfig) -> str:
    """The authenticated account SID, which must also be the one in the path if any."""
    header = request.headers.get("Authorization", "")
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
    in_path = request.match_info.get("account")
    if in_path is not None and in_path != config.account_sid:
        raise ApiError(404, 20404, f"The requested resource /Accounts/{in_path} was not found")
    return user
