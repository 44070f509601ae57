"""botkit: SMS, MMS and WhatsApp bots on Twilio.

The public API is what this module exports; example bots in ``bots/`` use nothing else.

Names load on first use (PEP 562), so importing one part of botkit (``botkit.sandbox``, the
payload models, the testing kit) does not import all of it: the server, the stores and Redis
come in only for a program that asks for them. The imports under TYPE_CHECKING give type
checkers and editors the same names; tests/test_public_api.py keeps the two lists equal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botkit.app.bot import Bot
    from botkit.app.knowledge import FaqEntry, Knowledge, KnowledgeError, load_knowledge
    from botkit.app.lifecycle import Startup
    from botkit.app.records import Records
    from botkit.app.router import Router
    from botkit.compliance.keywords import KeywordPolicy, KeywordReplies
    from botkit.contexts.conversation import ConversationContext, HandlerContext
    from botkit.contexts.direct import Context
    from botkit.contexts.handoff_closed import HandoffClosedContext
    from botkit.contexts.hooks import (
        ConversationStateContext,
        MessageAddContext,
        ParticipantContext,
    )
    from botkit.contexts.once import once
    from botkit.contexts.privacy import PrivacyRequest
    from botkit.contexts.status import StatusContext
    from botkit.conversations.info import ConversationInfo
    from botkit.errors import BotkitError, ConfigError, SendError
    from botkit.flows import Ask, Confirm, Flow, FlowError, Invalid
    from botkit.handoff.pool import Agent, AgentPool, HandoffTexts
    from botkit.handoff.service import HandoffError, HandoffResult
    from botkit.handoff.store.protocol import Presence
    from botkit.outbound.message import OutboundHandle, OutboundMessage
    from botkit.outbound.outbox import Outbox
    from botkit.outbound.shaping import WhatsAppTemplate
    from botkit.outbound.statuses.protocol import StatusChange
    from botkit.runtime.runtime import Runtime
    from botkit.server.app import RUNTIME, create_app
    from botkit.settings import Settings, load_settings
    from botkit.twilio.address import Address, parse_address
    from botkit.twilio.conversation_events import MessageAdded
    from botkit.twilio.inbound import Channel, InboundMessage, Location, Media, WhatsAppInfo
    from botkit.twilio.status import MessageStatus, StatusCallback

#: Where each public name lives.
_EXPORTS = {
    "Address": "botkit.twilio.address",
    "Agent": "botkit.handoff.pool",
    "AgentPool": "botkit.handoff.pool",
    "Ask": "botkit.flows",
    "Bot": "botkit.app.bot",
    "BotkitError": "botkit.errors",
    "Channel": "botkit.twilio.inbound",
    "ConfigError": "botkit.errors",
    "Confirm": "botkit.flows",
    "Context": "botkit.contexts.direct",
    "ConversationContext": "botkit.contexts.conversation",
    "ConversationInfo": "botkit.conversations.info",
    "ConversationStateContext": "botkit.contexts.hooks",
    "FaqEntry": "botkit.app.knowledge",
    "Flow": "botkit.flows",
    "FlowError": "botkit.flows",
    "HandlerContext": "botkit.contexts.conversation",
    "HandoffClosedContext": "botkit.contexts.handoff_closed",
    "HandoffError": "botkit.handoff.service",
    "HandoffResult": "botkit.handoff.service",
    "HandoffTexts": "botkit.handoff.pool",
    "InboundMessage": "botkit.twilio.inbound",
    "Invalid": "botkit.flows",
    "KeywordPolicy": "botkit.compliance.keywords",
    "KeywordReplies": "botkit.compliance.keywords",
    "Knowledge": "botkit.app.knowledge",
    "KnowledgeError": "botkit.app.knowledge",
    "Location": "botkit.twilio.inbound",
    "Media": "botkit.twilio.inbound",
    "MessageAddContext": "botkit.contexts.hooks",
    "MessageAdded": "botkit.twilio.conversation_events",
    "MessageStatus": "botkit.twilio.status",
    "OutboundHandle": "botkit.outbound.message",
    "OutboundMessage": "botkit.outbound.message",
    "Presence": "botkit.handoff.store.protocol",
    "PrivacyRequest": "botkit.contexts.privacy",
    "Outbox": "botkit.outbound.outbox",
    "ParticipantContext": "botkit.contexts.hooks",
    "RUNTIME": "botkit.server.app",
    "Records": "botkit.app.records",
    "Router": "botkit.app.router",
    "Runtime": "botkit.runtime.runtime",
    "SendError": "botkit.errors",
    "Settings": "botkit.settings",
    "Startup": "botkit.app.lifecycle",
    "StatusCallback": "botkit.twilio.status",
    "StatusChange": "botkit.outbound.statuses.protocol",
    "StatusContext": "botkit.contexts.status",
    "WhatsAppInfo": "botkit.twilio.inbound",
    "WhatsAppTemplate": "botkit.outbound.shaping",
    "create_app": "botkit.server.app",
    "load_knowledge": "botkit.app.knowledge",
    "load_settings": "botkit.settings",
    "once": "botkit.contexts.once",
    "parse_address": "botkit.twilio.address",
}

__all__ = [
    "RUNTIME",
    "Address",
    "Agent",
    "AgentPool",
    "Ask",
    "Bot",
    "BotkitError",
    "Channel",
    "ConfigError",
    "Confirm",
    "Context",
    "ConversationContext",
    "ConversationInfo",
    "ConversationStateContext",
    "FaqEntry",
    "Flow",
    "FlowError",
    "HandlerContext",
    "HandoffClosedContext",
    "HandoffError",
    "HandoffResult",
    "HandoffTexts",
    "InboundMessage",
    "Invalid",
    "KeywordPolicy",
    "KeywordReplies",
    "Knowledge",
    "KnowledgeError",
    "Location",
    "Media",
    "MessageAddContext",
    "MessageAdded",
    "MessageStatus",
    "OutboundHandle",
    "OutboundMessage",
    "Outbox",
    "ParticipantContext",
    "Presence",
    "PrivacyRequest",
    "Records",
    "Router",
    "Runtime",
    "SendError",
    "Settings",
    "Startup",
    "StatusCallback",
    "StatusChange",
    "StatusContext",
    "WhatsAppInfo",
    "WhatsAppTemplate",
    "create_app",
    "load_knowledge",
    "load_settings",
    "once",
    "parse_address",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'botkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # found once, then a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
