"""A user texting a running bot, turn by turn: what they sent, and what came back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.conftest import BotServer
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER, inbound_params


@dataclass
class Chat:
    """Posts each message as a signed webhook, waits until the bot has handled it and sent its
    replies through the outbound worker to the sandbox, and returns those replies in order."""

    server: BotServer
    twilio: SandboxTwilio
    user: str = USER
    _seen: set[str] = field(default_factory=set)

    async def say(self, body: str, **params: str) -> list[str]:
        response = await self.server.post(inbound_params(body, From=self.user, **params))
        assert response.status == 200, await response.text()
        await self.server.idle()
        return self.new_replies()

    def on(self, server: BotServer) -> Chat:
        """The same conversation, continued with another server (after a restart)."""
        return Chat(server, self.twilio, self.user, self._seen)

    def new_replies(self) -> list[str]:
        fresh = [m for m in self.twilio.sent if m.record.sid not in self._seen]
        self._seen.update(m.record.sid for m in fresh)
        return [m.body for m in fresh if m.to == self.user]

    async def session(self) -> dict[str, Any]:
        stores = self.server.runtime.stores
        user = stores.hasher.digest(self.user)
        key = f"{stores.session_keys.bot}|sms|{BOT_NUMBER}|{user}"
        return await stores.sessions.get(key) or {}
