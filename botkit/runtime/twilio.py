"""The Twilio side of the composition root: the secret webhooks are signed with, and the one
way a process makes an SDK client.

Development mode (no ``TWILIO_ACCOUNT_SID``) signs and sends with the sandbox's published
development credentials; that fallback lives here and nowhere else.
"""

from __future__ import annotations

from twilio.rest import Client

from botkit.errors import ConfigError
from botkit.settings import Settings
from botkit.twilio.client import create_async_client
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN


def auth_token(settings: Settings) -> str:
    """The secret webhooks are signed with, and requests to Twilio authenticated with."""
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    if settings.development:
        return DEVELOPMENT_AUTH_TOKEN
    raise ConfigError("TWILIO_AUTH_TOKEN: required when TWILIO_ACCOUNT_SID is set")


def account_sid(settings: Settings) -> str:
    return settings.twilio_account_sid or DEVELOPMENT_ACCOUNT_SID


def twilio_client(settings: Settings) -> Client:
    """An SDK client for async calls, at BOTKIT_TWILIO_BASE_URL when set. Call inside the running
    event loop; the caller closes its ``http_client``."""
    base_url = settings.twilio_base_url
    return create_async_client(account_sid(settings), auth_token(settings), base_url)
