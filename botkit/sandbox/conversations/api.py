"""The Conversations v1 REST routes (``https://conversations.twilio.com/v1/...``).

The SDK's requests for conversations.twilio.com are rewritten to the sandbox's base URL, so the
``/v1`` paths are served on the same app as the 2010 Messages API. Every route checks Basic auth
like the Messages API; the rules themselves are in ``ConversationsService``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from botkit.sandbox.auth import require_account
from botkit.sandbox.conversations.errors import invalid
from botkit.sandbox.conversations.models import (
    ConversationMessage,
    ConversationRecord,
    ParticipantRecord,
    ScopedWebhook,
)
from botkit.sandbox.conversations.paging import meta_page
from botkit.sandbox.conversations.receipts import receipts_of
from botkit.sandbox.conversations.service import ConversationsService
from botkit.sandbox.conversations.specs import (
    ConfigurationSpec,
    ConversationSpec,
    MessageSpec,
    ParticipantChanges,
    ParticipantSpec,
    WebhookSpec,
)
from botkit.sandbox.errors import not_found

BASE = "/v1/Conversations"
CONVERSATION = BASE + "/{conversation}"
WEBHOOKS_PAGE_SIZE = 5


def origin(request: web.Request) -> str:
    """Absolute URLs point where this client reached the sandbox, so it can follow them."""
    return f"{request.scheme}://{request.host}"


def webhooks_enabled(request: web.Request) -> bool:
    """REST actions fire webhooks only with ``X-Twilio-Webhook-Enabled: true``."""
    return request.headers.get("X-Twilio-Webhook-Enabled", "").lower() == "true"


def _json(data: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


class ConversationsApi:
    def __init__(self, service: ConversationsService) -> None:
        self.service = service
        self.store = service.store
        self.config = service.state.config

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(BASE, self.create_conversation),
            web.get(BASE, self.list_conversations),
            web.get(CONVERSATION, self.fetch_conversation),
            web.post(CONVERSATION, self.update_conversation),
            web.delete(CONVERSATION, self.delete_conversation),
            web.post(CONVERSATION + "/Participants", self.create_participant),
            web.get(CONVERSATION + "/Participants", self.list_participants),
            web.get(CONVERSATION + "/Participants/{sid}", self.fetch_participant),
            web.post(CONVERSATION + "/Participants/{sid}", self.update_participant),
            web.delete(CONVERSATION + "/Participants/{sid}", self.delete_participant),
            web.post(CONVERSATION + "/Messages", self.create_message),
            web.get(CONVERSATION + "/Messages", self.list_messages),
            web.get(CONVERSATION + "/Messages/{sid}", self.fetch_message),
            web.post(CONVERSATION + "/Messages/{sid}", self.update_message),
            web.delete(CONVERSATION + "/Messages/{sid}", self.delete_message),
            web.get(CONVERSATION + "/Messages/{message}/Receipts", self.list_receipts),
            web.get(CONVERSATION + "/Messages/{message}/Receipts/{sid}", self.fetch_receipt),
            web.post(CONVERSATION + "/Webhooks", self.create_webhook),
            web.get(CONVERSATION + "/Webhooks", self.list_webhooks),
            web.get(CONVERSATION + "/Webhooks/{sid}", self.fetch_webhook),
            web.post(CONVERSATION + "/Webhooks/{sid}", self.update_webhook),
            web.delete(CONVERSATION + "/Webhooks/{sid}", self.delete_webhook),
            web.get("/v1/Configuration/Webhooks", self.fetch_configuration),
            web.post("/v1/Configuration/Webhooks", self.update_configuration),
        ]

    def _conversation(self, request: web.Request) -> ConversationRecord:
        require_account(request, self.config)
        return self.store.find(request.match_info["conversation"])

    def _participant(self, request: web.Request) -> tuple[ConversationRecord, ParticipantRecord]:
        conversation = self._conversation(request)
        return conversation, self.store.participant(conversation.sid, request.match_info["sid"])

    def _message(self, request: web.Request) -> tuple[ConversationRecord, ConversationMessage]:
        conversation = self._conversation(request)
        return conversation, self.store.message(conversation.sid, request.match_info["sid"])

    def _webhook(self, request: web.Request) -> tuple[ConversationRecord, ScopedWebhook]:
        conversation = self._conversation(request)
        return conversation, self.store.webhook(conversation.sid, request.match_info["sid"])

    # Conversations ------------------------------------------------------------------------

    async def create_conversation(self, request: web.Request) -> web.Response:
        require_account(request, self.config)
        spec = ConversationSpec.from_form(await request.post())
        conversation = await self.service.create_conversation(
            spec, notify=webhooks_enabled(request)
        )
        return _json(conversation.to_json(origin(request)), 201)

    async def list_conversations(self, request: web.Request) -> web.Response:
        require_account(request, self.config)
        query = request.query
        filters = {k: v for k, v in query.items() if k in ("StartDate", "EndDate", "State") and v}
        records = [
            c
            for c in self.store.conversations.values()
            if _conversation_matches(c, filters)
        ]
        base = origin(request)
        page = meta_page(
            [c.to_json(base) for c in records],
            url=base + BASE,
            key="conversations",
            query=query,
            filters=filters,
        )
        return _json(page)

    async def fetch_conversation(self, request: web.Request) -> web.Response:
        return _json(self._conversation(request).to_json(origin(request)))

    async def update_conversation(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        spec = ConversationSpec.from_form(await request.post())
        await self.service.update_conversation(
            conversation, spec, notify=webhooks_enabled(request)
        )
        return _json(conversation.to_json(origin(request)))

    async def delete_conversation(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        await self.service.delete_conversation(conversation, notify=webhooks_enabled(request))
        return web.Response(status=204)

    # Participants -------------------------------------------------------------------------

    async def create_participant(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        spec = ParticipantSpec.from_form(await request.post())
        participant = await self.service.add_participant(
            conversation, spec, notify=webhooks_enabled(request)
        )
        return _json(participant.to_json(origin(request)), 201)

    async def list_participants(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        base = origin(request)
        page = meta_page(
            [p.to_json(base) for p in self.store.participants_of(conversation.sid)],
            url=f"{base}{BASE}/{conversation.sid}/Participants",
            key="participants",
            query=request.query,
        )
        return _json(page)

    async def fetch_participant(self, request: web.Request) -> web.Response:
        _, participant = self._participant(request)
        return _json(participant.to_json(origin(request)))

    async def update_participant(self, request: web.Request) -> web.Response:
        conversation, participant = self._participant(request)
        spec = ParticipantChanges.from_form(await request.post())
        await self.service.update_participant(
            conversation, participant, spec, notify=webhooks_enabled(request)
        )
        return _json(participant.to_json(origin(request)))

    async def delete_participant(self, request: web.Request) -> web.Response:
        conversation, participant = self._participant(request)
        await self.service.remove_participant(
            conversation, participant, notify=webhooks_enabled(request)
        )
        return web.Response(status=204)

    # Messages -----------------------------------------------------------------------------

    async def create_message(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        spec = MessageSpec.from_form(await request.post(), create=True)
        message = await self.service.create_message(
            conversation, spec, notify=webhooks_enabled(request)
        )
        summary = self.service.delivery_summary(message)
        return _json(message.to_json(origin(request), summary), 201)

    async def list_messages(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        order = request.query.get("Order", "asc") or "asc"
        if order not in ("asc", "desc"):
            raise invalid(f"Order must be asc or desc, not {order!r}")
        messages = self.store.messages_of(conversation.sid)
        if order == "desc":
            messages.reverse()
        base = origin(request)
        page = meta_page(
            [m.to_json(base, self.service.delivery_summary(m)) for m in messages],
            url=f"{base}{BASE}/{conversation.sid}/Messages",
            key="messages",
            query=request.query,
            filters={"Order": order} if "Order" in request.query else None,
        )
        return _json(page)

    async def fetch_message(self, request: web.Request) -> web.Response:
        _, message = self._message(request)
        return _json(message.to_json(origin(request), self.service.delivery_summary(message)))

    async def update_message(self, request: web.Request) -> web.Response:
        conversation, message = self._message(request)
        spec = MessageSpec.from_form(await request.post(), create=False)
        await self.service.update_message(
            conversation, message, spec, notify=webhooks_enabled(request)
        )
        return _json(message.to_json(origin(request), self.service.delivery_summary(message)))

    async def delete_message(self, request: web.Request) -> web.Response:
        conversation, message = self._message(request)
        await self.service.remove_message(
            conversation, message, notify=webhooks_enabled(request)
        )
        return web.Response(status=204)

    # Delivery receipts -------------------------------------------------------------------

    def _receipts(self, request: web.Request) -> tuple[str, list[dict[str, Any]]]:
        conversation = self._conversation(request)
        message = self.store.message(conversation.sid, request.match_info["message"])
        carried = [
            record
            for sid in message.deliveries
            if (record := self.service.state.messages.get(sid)) is not None
        ]
        base = origin(request)
        participants = self.store.participants_of(conversation.sid)
        url = f"{base}{BASE}/{conversation.sid}/Messages/{message.sid}/Receipts"
        return url, receipts_of(message, carried, participants, base)

    async def list_receipts(self, request: web.Request) -> web.Response:
        url, receipts = self._receipts(request)
        return _json(meta_page(receipts, url=url, key="delivery_receipts", query=request.query))

    async def fetch_receipt(self, request: web.Request) -> web.Response:
        _, receipts = self._receipts(request)
        for receipt in receipts:
            if receipt["sid"] == request.match_info["sid"]:
                return _json(receipt)
        raise not_found(request.path)

    # Conversation-scoped webhooks ---------------------------------------------------------

    async def create_webhook(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        spec = WebhookSpec.from_form(await request.post(), create=True)
        hook = self.service.add_webhook(conversation, spec)
        return _json(hook.to_json(origin(request)), 201)

    async def list_webhooks(self, request: web.Request) -> web.Response:
        conversation = self._conversation(request)
        base = origin(request)
        page = meta_page(
            [h.to_json(base) for h in self.store.webhooks_of(conversation.sid)],
            url=f"{base}{BASE}/{conversation.sid}/Webhooks",
            key="webhooks",
            query=request.query,
            max_size=WEBHOOKS_PAGE_SIZE,
        )
        return _json(page)

    async def fetch_webhook(self, request: web.Request) -> web.Response:
        _, hook = self._webhook(request)
        return _json(hook.to_json(origin(request)))

    async def update_webhook(self, request: web.Request) -> web.Response:
        _, hook = self._webhook(request)
        spec = WebhookSpec.from_form(await request.post(), create=False)
        self.service.update_webhook(hook, spec)
        return _json(hook.to_json(origin(request)))

    async def delete_webhook(self, request: web.Request) -> web.Response:
        conversation, hook = self._webhook(request)
        del self.store.webhooks[conversation.sid][hook.sid]
        return web.Response(status=204)

    # Account-level webhook configuration --------------------------------------------------

    async def fetch_configuration(self, request: web.Request) -> web.Response:
        account = require_account(request, self.config)
        return _json(self.store.configuration.to_json(origin(request), account))

    async def update_configuration(self, request: web.Request) -> web.Response:
        account = require_account(request, self.config)
        self.service.configure(ConfigurationSpec.from_form(await request.post()))
        return _json(self.store.configuration.to_json(origin(request), account))


def _conversation_matches(conversation: ConversationRecord, filters: dict[str, str]) -> bool:
    """StartDate / EndDate (YYYY-MM-DD, on date_created) and State, as ListConversation has."""
    created = conversation.date_created.date().isoformat()
    if "StartDate" in filters and created < filters["StartDate"][:10]:
        return False
    if "EndDate" in filters and created > filters["EndDate"][:10]:
        return False
    return "State" not in filters or conversation.state == filters["State"]
