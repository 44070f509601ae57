"""The development sandbox's account: the credentials ``botkit sandbox`` accepts and
development mode signs with. They protect nothing real, and they are published in the README,
so nothing but development mode may use them (botkit/settings.py decides when that is)."""

from __future__ import annotations

DEVELOPMENT_ACCOUNT_SID = "AC" + "0" * 32
DEVELOPMENT_AUTH_TOKEN = "botkit-development-token"
