"""Building the Conversations client from settings, as the runtime will for ``bot.conversations``
and ``ctx.conversations``: the memory mirror without REDIS_URL, the Redis one with it.

Kept apart from the client so that the client depends on a twilio Client and a mirror, not on
how the process is configured (tests build it straight from the sandbox's SDK client).
"""

from __future__ import annotations

from redis.asyncio import Redis

from botkit.conversations.client import ConversationsClient
from botkit.conversations.mirror.memory import MemoryParticipantMirror
from botkit.conversations.mirror.protocol import ParticipantMirror
from botkit.conversations.mirror.redis import RedisParticipantMirror
from botkit.settings import Settings
from botkit.twilio.client import create_async_client
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN


def open_participant_mirror(redis: Redis | None) -> ParticipantMirror:
    """One mirror per process (memory) or shared by every process (Redis)."""
    return MemoryParticipantMirror() if redis is None else RedisParticipantMirror(redis)


def open_conversations(settings: Settings, mirror: ParticipantMirror) -> ConversationsClient:
    """A client with its own SDK client (call inside the running loop); ``aclose()`` it."""
    twilio = create_async_client(
        settings.twilio_account_sid or DEVELOPMENT_ACCOUNT_SID,
        settings.twilio_auth_token or DEVELOPMENT_AUTH_TOKEN,
        settings.twilio_base_url,
    )
    return ConversationsClient(twilio, mirror=mirror, close_twilio=True)
