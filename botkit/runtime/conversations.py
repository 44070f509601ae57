"""Wiring the Conversations side of a running bot: the Conversations client and its participant
mirror, the pre-event gate and the post-event pipeline.

Kept apart from botkit/server/app.py so that the app only has to start it, hand its pipeline to
the inbound workers and close it.
"""

from __future__ import annotations

from dataclasses import dataclass

from twilio.rest import Client

from botkit.app.bot import Bot
from botkit.contexts.handoff_closed import close_hooks
from botkit.conversations.client import ConversationsClient
from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.mirror.redis import RedisParticipantMirror
from botkit.conversations.writer import ConversationWriter
from botkit.handoff.service import Handoff
from botkit.handoff.store.memory import MemoryHandoffStore
from botkit.handoff.store.redis import RedisHandoffStore
from botkit.inbound.compliance_step import Compliance
from botkit.inbound.conversation_pipeline import ConversationPipeline
from botkit.inbound.message_add_gate import MessageAddGate
from botkit.inbound.pipeline import Pipeline
from botkit.inbound.queue.protocol import InboundQueue
from botkit.runtime.stores import Stores
from botkit.settings import Settings
from botkit.twilio.client import create_async_client
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID


@dataclass
class ConversationRuntime:
    """What ``POST /twilio/conversations`` and the inbound workers use."""

    inbound: InboundQueue
    gate: MessageAddGate
    pipeline: ConversationPipeline
    client: ConversationsClient
    twilio: Client
    #: Human handoff: ``ctx.handoff``, ``bot.take_next``, agent mode (botkit/handoff/).
    handoff: Handoff

    async def close(self) -> None:
        await self.twilio.http_client.close()


def open_conversations(
    bot: Bot,
    settings: Settings,
    stores: Stores,
    pipeline: Pipeline,
    compliance: Compliance,
    auth_token: str,
) -> ConversationRuntime:
    """Call inside the running event loop (the SDK's async http client needs it)."""
    twilio = create_async_client(
        settings.twilio_account_sid or DEVELOPMENT_ACCOUNT_SID,
        auth_token,
        settings.twilio_base_url,
    )
    mirror: ParticipantMirror = (
        RedisParticipantMirror(stores.redis, prefix=bot.name)
        if stores.redis is not None
        else MemoryParticipantMirror()
    )
    client = ConversationsClient(twilio, mirror=mirror)
    writer = ConversationWriter(client, settings.conversations_identity)
    hooks = bot.compile_conversation_hooks()
    gate = MessageAddGate(
        hooks,
        stores.outbound.ledger,
        bot.keywords,
        settings.conversations_identity,
        mirror=mirror,
    )
    handoff = Handoff(
        bot_name=bot.name,
        client=client,
        writer=writer,
        store=(
            RedisHandoffStore(stores.redis, prefix=bot.name)
            if stores.redis is not None
            else MemoryHandoffStore()
        ),
        sessions=stores.sessions,
        policy=pipeline.policy,
        pool=bot.agents,
        texts=bot.handoff_texts,
        on_close=close_hooks(bot.handoff_close_hooks, pipeline.sender),
    )
    agent_commands = Pipeline(
        bot.name,
        bot.compile_agent_commands(),
        stores.sessions,
        pipeline.sender,
        pipeline.policy,
        pipeline.apology,
    )
    agent_commands.handoff = handoff
    pipeline.handoff = handoff
    processing = ConversationPipeline(
        pipeline,
        hooks,
        writer,
        sessions=bot.conversation_sessions,
        compliance=compliance,
        handoff=handoff,
        agent_commands=agent_commands,
    )
    return ConversationRuntime(stores.inbound, gate, processing, client, twilio, handoff)
