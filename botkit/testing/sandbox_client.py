"""The test's side of the sandbox, over HTTP as a handset or a chat client would reach Twilio:
phones texting, chat participants posting into Conversations, templates and webhooks set up.

Kept to plain form posts on one keep-alive session: a turn must cost little, and the test kit
must not depend on the code under test (the bot's own Twilio client) to drive the bot.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

#: How the sandbox words a message the bot's pre-event answer rejected.
PRE_EVENT_REJECTED = "onMessageAdd pre-event webhook rejected"


class SandboxRefused(AssertionError):
    """The sandbox (Twilio) refused what the test asked for; the text is its error."""


class SandboxClient:
    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self._base = base_url.rstrip("/")
        self._account = account_sid
        credentials = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._session = aiohttp.ClientSession(headers={"Authorization": f"Basic {credentials}"})

    async def close(self) -> None:
        await self._session.close()

    async def text(
        self,
        phone: str,
        to: str,
        body: str,
        *,
        media_urls: Sequence[str] = (),
        media_types: Sequence[str] = (),
        extra: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The phone texts ``to``; the Message resource the sandbox created."""
        payload: dict[str, Any] = {"to": to, "body": body}
        if media_urls:
            payload["media_urls"] = list(media_urls)
            payload["media_types"] = list(media_types)
        payload.update(extra or {})
        return await self._json(
            "POST", f"/sandbox/phones/{quote(phone, safe='')}/messages", json=payload
        )

    async def read(self, phone: str) -> int:
        """The WhatsApp phone opens its chat: how many delivered messages became read."""
        data = await self._json("POST", f"/sandbox/phones/{quote(phone, safe='')}/read")
        return int(data["read"])

    async def configure_conversation_webhooks(self, url: str, filters: Sequence[str]) -> None:
        """Account-level pre- and post-event webhooks, as the Console would set them."""
        form: list[tuple[str, str]] = [
            ("PreWebhookUrl", url),
            ("PostWebhookUrl", url),
            ("Method", "POST"),
        ]
        form.extend(("Filters", name) for name in filters)
        await self._json("POST", "/v1/Configuration/Webhooks", data=form)

    async def post_to_conversation(self, conversation_sid: str, author: str, body: str) -> bool:
        """A chat participant writes, as their chat SDK would: webhooks fire. False when the
        bot's onMessageAdd pre-event answer kept the message out (an agent command it took)."""
        try:
            await self._json(
                "POST",
                f"/v1/Conversations/{conversation_sid}/Messages",
                data={"Author": author, "Body": body},
                headers={"X-Twilio-Webhook-Enabled": "true"},
            )
        except SandboxRefused as refused:
            if PRE_EVENT_REJECTED not in str(refused):
                raise
            return False
        return True

    async def create_conversation(self, friendly_name: str | None) -> str:
        data = {"FriendlyName": friendly_name} if friendly_name else {}
        created = await self._json(
            "POST", "/v1/Conversations", data=data, headers={"X-Twilio-Webhook-Enabled": "true"}
        )
        return str(created["sid"])

    async def add_participant(
        self,
        conversation_sid: str,
        *,
        identity: str | None = None,
        address: str | None = None,
        proxy_address: str | None = None,
    ) -> None:
        data: dict[str, str] = {}
        if identity is not None:
            data["Identity"] = identity
        if address is not None:
            data["MessagingBinding.Address"] = address
        if proxy_address is not None:
            data["MessagingBinding.ProxyAddress"] = proxy_address
        await self._json(
            "POST",
            f"/v1/Conversations/{conversation_sid}/Participants",
            data=data,
            headers={"X-Twilio-Webhook-Enabled": "true"},
        )

    async def create_template(self, definition: Mapping[str, Any]) -> str:
        """A Content template (``friendly_name``, ``language``, ``variables``, ``types``)."""
        created = await self._json(
            "POST",
            "/v1/Content",
            data=json.dumps(dict(definition)),
            headers={"Content-Type": "application/json"},
        )
        return str(created["sid"])

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with self._session.request(method, self._base + path, **kwargs) as response:
            text = await response.text()
            if response.status >= 400:
                raise SandboxRefused(f"{method} {path}: the sandbox answered {response.status}: "
                                     f"{_reason(text)}")
            data = json.loads(text) if text else {}
            return data if isinstance(data, dict) else {}


def _reason(text: str) -> str:
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()
    if isinstance(data, dict) and "message" in data:
        code = data.get("code")
        return f"{data['message']}" + (f" (error {code})" if code else "")
    return text.strip()
