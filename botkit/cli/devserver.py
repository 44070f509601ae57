"""Development without a Twilio account: an in-process sandbox, wired to the bot.

``botkit run`` and ``botkit chat`` use this when TWILIO_ACCOUNT_SID is unset. The bot still
talks to "Twilio" over HTTP through the official SDK, and the sandbox still signs its webhooks,
so what works here works against the real Twilio.
"""

from __future__ import annotations

from botkit.cli.sandbox_registry import registered_sandbox
from botkit.errors import ConfigError
from botkit.runtime.twilio import twilio_client
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.settings import Settings
from botkit.twilio.conversation_events import HANDLED_EVENTS
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN

#: The number the demo bot answers on, for SMS and (with the whatsapp: prefix) WhatsApp.
DEMO_NUMBER = "+15550100100"


def wants_sandbox(settings: Settings) -> bool:
    """No account and no Twilio stand-in configured: start one in-process.

    The sandbox's own account (AC000...0) without BOTKIT_TWILIO_BASE_URL names no sandbox to
    use: refused rather than silently taken as "no account"."""
    if settings.twilio_account_sid == DEVELOPMENT_ACCOUNT_SID and settings.twilio_base_url is None:
        raise ConfigError(
            f"TWILIO_ACCOUNT_SID: {DEVELOPMENT_ACCOUNT_SID} is the sandbox's development "
            "account, not a Twilio account: unset it for development mode, or set "
            "BOTKIT_TWILIO_BASE_URL to the sandbox it belongs to"
        )
    return settings.development and settings.twilio_base_url is None


async def shared_development_settings(settings: Settings) -> Settings:
    """For a development process that starts no sandbox of its own (``botkit worker``): the
    settings pointed at the sandbox a ``botkit run`` registered in Redis. Without one, refused
    in one line: nothing in development mode may reach Twilio's real hosts."""
    if not wants_sandbox(settings):
        return settings
    url = await registered_sandbox(settings.redis_url) if settings.redis_url else None
    if url is None:
        raise ConfigError(
            "TWILIO_ACCOUNT_SID is not set (development mode) and no development sandbox is "
            "registered in Redis: start `botkit run MODULE` with the same REDIS_URL first, or "
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to send through Twilio"
        )
    return connect(settings, url)


async def start_sandbox(host: str = "127.0.0.1", port: int = 0) -> Sandbox:
    sandbox = Sandbox(
        SandboxConfig(account_sid=DEVELOPMENT_ACCOUNT_SID, auth_token=DEVELOPMENT_AUTH_TOKEN)
    )
    await sandbox.start(host, port)
    return sandbox


def connect(settings: Settings, sandbox_url: str) -> Settings:
    """Settings that point the bot at a development sandbox, with its account and token."""
    return settings.model_copy(
        update={
            "twilio_account_sid": DEVELOPMENT_ACCOUNT_SID,
            "twilio_auth_token": DEVELOPMENT_AUTH_TOKEN,
            "twilio_base_url": sandbox_url,
        }
    )


async def wire_conversations(settings: Settings, webhook_url: str) -> None:
    """Point the development sandbox's account-level Conversations webhooks (pre- and
    post-events) at the bot, as its owner would in Twilio's Console: without them an agent's
    ``/close`` is just text, and a handoff never ends."""
    client = twilio_client(settings)
    try:
        await client.conversations.v1.configuration.webhooks().update_async(
            method="POST",
            filters=list(HANDLED_EVENTS),
            pre_webhook_url=webhook_url,
            post_webhook_url=webhook_url,
            target="webhook",
        )
    finally:
        await client.http_client.close()
