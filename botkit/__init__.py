"""botkit: SMS, MMS and WhatsApp bots on Twilio.

The public API is what this module exports; example bots in ``bots/`` use nothing else.
"""

from botkit.app.bot import Bot
from botkit.app.knowledge import FaqEntry, Knowledge, KnowledgeError, load_knowledge
from botkit.app.lifecycle import Startup
from botkit.app.records import Records
from botkit.app.router import Router
from botkit.compliance.keywords import KeywordPolicy, KeywordReplies
from botkit.contexts.conversation import ConversationContext, HandlerContext
from botkit.contexts.direct import Context
from botkit.contexts.handoff_closed import HandoffClosedContext
from botkit.contexts.hooks import ConversationStateContext, MessageAddContext, ParticipantContext
from botkit.contexts.status import StatusContext
from botkit.conversations.info import ConversationInfo
from botkit.errors import BotkitError, ConfigError, SendError
from botkit.flows import Ask, Confirm, Flow, FlowError, Invalid
from botkit.handoff.pool import AgentPool, HandoffTexts
from botkit.handoff.service import HandoffError, HandoffResult
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

__all__ = [
    "RUNTIME",
    "Address",
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
    "parse_address",
]
