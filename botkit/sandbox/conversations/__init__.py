"""Twilio Conversations v1 in the sandbox: conversations, participants (chat, SMS, WhatsApp,
group MMS), messages with ``meta`` paging, scoped and account-level webhooks signed like
Twilio's, and the bridge that carries messages to and from simulated phones.

``install_conversations`` wires it into a sandbox app: routes, Delivery's inbound hook, and
cleanup of the conversation timers.
"""

from __future__ import annotations

from aiohttp import web

from botkit.sandbox.conversations.api import ConversationsApi
from botkit.sandbox.conversations.service import ConversationsService
from botkit.sandbox.delivery import Delivery
from botkit.sandbox.state import SandboxState

CONVERSATIONS = web.AppKey("botkit.sandbox.conversations", ConversationsService)


def install_conversations(
    app: web.Application, state: SandboxState, delivery: Delivery
) -> ConversationsService:
    service = ConversationsService(state, delivery)
    app[CONVERSATIONS] = service
    app.router.add_routes(ConversationsApi(service).routes())
    delivery.inbound_router = service.route_inbound

    async def stop_timers(app: web.Application) -> None:
        await service.timers.close()

    app.on_cleanup.append(stop_timers)
    return service


__all__ = ["CONVERSATIONS", "ConversationsService", "install_conversations"]
