"""Sending Conversations webhooks: pre-events that may reject or rewrite an action before it
happens, and post-events to the account-level URL and to each conversation-scoped webhook.

Rules the sandbox follows (Twilio's Conversations webhook docs and support articles):

- An event is sent only to targets whose Filters name it (an empty filter list sends nothing).
- Actions taken through the REST API send webhooks only when the request carried
  ``X-Twilio-Webhook-Enabled: true``; actions from phones (and chat clients) always do. The
  caller decides that and simply does not call in.
- Pre-events go to the account-level PreWebhookUrl only. A non-2xx answer rejects the action; a
  2xx answer with a JSON object may rewrite a message's body, author or attributes. An
  unreachable URL lets the action through (UNCONFIRMED; the sandbox fails open).
- Webhooks time out after 5 seconds. Post-events to one URL leave in the order they happened.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from botkit.logging import get_logger
from botkit.sandbox.conversations.store import ConversationStore
from botkit.sandbox.webhooks import WebhookPoster

log = get_logger("sandbox.conversations")

WEBHOOK_TIMEOUT = 5.0
PRE_EVENTS = frozenset(
    {
        "onMessageAdd",
        "onMessageUpdate",
        "onMessageRemove",
        "onConversationAdd",
        "onConversationUpdate",
        "onConversationRemove",
        "onParticipantAdd",
        "onParticipantUpdate",
        "onParticipantRemove",
        "onUserUpdate",
    }
)
POST_EVENTS = frozenset(
    {
        "onMessageAdded",
        "onMessageUpdated",
        "onMessageRemoved",
        "onConversationAdded",
        "onConversationUpdated",
        "onConversationRemoved",
        "onConversationStateUpdated",
        "onParticipantAdded",
        "onParticipantUpdated",
        "onParticipantRemoved",
        "onDeliveryUpdated",
        "onUserAdded",
        "onUserUpdated",
    }
)
EVENTS = PRE_EVENTS | POST_EVENTS
#: A pre-event answer may rewrite these message fields (JSON keys, any case).
REWRITABLE = ("body", "author", "attributes")

Spawn = Callable[[Coroutine[Any, Any, Any]], None]


@dataclass(frozen=True)
class PreVerdict:
    allowed: bool
    status: int | None = None
    #: Rewrites from the answer, by lower-case field name (body, author, attributes).
    changes: dict[str, str] = field(default_factory=dict)


class ConversationEvents:
    def __init__(self, poster: WebhookPoster, store: ConversationStore, spawn: Spawn) -> None:
        self.poster = poster
        self.store = store
        self.spawn = spawn
        self._order: dict[str, asyncio.Lock] = {}

    async def pre(self, event: str, params: dict[str, str]) -> PreVerdict:
        """Ask the PreWebhookUrl whether the action may happen, and how to rewrite it."""
        config = self.store.configuration
        if not config.pre_webhook_url or event not in config.filters:
            return PreVerdict(True)
        reply = await self.poster.exchange(
            config.pre_webhook_url,
            {**params, "EventType": event},
            method=config.method,
            token=uuid.uuid4().hex,
            time_limit=WEBHOOK_TIMEOUT,
        )
        if reply.status is None:
            return PreVerdict(True)
        if not reply.ok:
            return PreVerdict(False, reply.status)
        return PreVerdict(True, reply.status, _rewrites(reply.body))

    def post(
        self, conversation_sid: str, event: str, params: dict[str, str], body: str | None = None
    ) -> None:
        """Queue the post-event to every target that wants it; ``body`` feeds trigger targets."""
        targets: list[tuple[str, str]] = []
        config = self.store.configuration
        if config.post_webhook_url and event in config.filters:
            targets.append((config.post_webhook_url, config.method))
        for hook in self.store.webhooks_of(conversation_sid):
            wanted = (hook.target == "webhook" and event in hook.filters) or (
                hook.target == "trigger"
                and event == "onMessageAdded"
                and _triggered(hook.triggers, body)
            )
            if wanted and hook.url is not None:
                targets.append((hook.url, hook.method))
        for url, method in targets:
            self.spawn(self._send(url, method, {**params, "EventType": event}))

    async def _send(self, url: str, method: str, params: dict[str, str]) -> None:
        lock = self._order.setdefault(url, asyncio.Lock())
        async with lock:
            await self.poster.exchange(
                url, params, method=method, token=uuid.uuid4().hex, time_limit=WEBHOOK_TIMEOUT
            )


def _rewrites(raw: bytes) -> dict[str, str]:
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        log.warning("pre-event webhook answered a body that is not JSON; ignoring it")
        return {}
    if not isinstance(data, dict):
        return {}
    changes: dict[str, str] = {}
    for key, value in data.items():
        name = str(key).lower()
        if name in REWRITABLE and value is not None:
            changes[name] = value if isinstance(value, str) else json.dumps(value)
    return changes


def _triggered(keywords: list[str], body: str | None) -> bool:
    """A trigger target fires when a message contains one of its keywords as a word."""
    words = {word.strip(".,!?;:").lower() for word in (body or "").split()}
    return any(keyword.lower() in words for keyword in keywords)
