"""Development without a Twilio account: an in-process sandbox, wired to the bot.

``botkit run`` and ``botkit chat`` use this when TWILIO_ACCOUNT_SID is unset. The bot still
talks to "Twilio" over HTTP through the official SDK, and the sandbox still signs its webhooks,
so what works here works against the real Twilio.
"""

from __future__ import annotations

from botkit.sandbox import Sandbox, SandboxConfig
from botkit.settings import Settings
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN

#: The number the demo bot answers on, for SMS and (with the whatsapp: prefix) WhatsApp.
DEMO_NUMBER = "+15550100100"


def wants_sandbox(settings: Settings) -> bool:
    """No account and no Twilio stand-in configured: start one in-process."""
    return settings.development and settings.twilio_base_url is None


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
