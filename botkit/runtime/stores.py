"""Choosing and wiring the stores from settings, and their lifecycle.

Everything that differs between development (memory, sandbox) and production (Redis, Twilio)
is decided here, once, so the rest of the code sees only the protocols.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from botkit.errors import ConfigError
from botkit.inbound.queue.memory import MemoryInboundQueue
from botkit.inbound.queue.protocol import InboundQueue
from botkit.inbound.queue.redis import RedisInboundQueue
from botkit.outbound.statuses.memory import MemoryStatusStore
from botkit.outbound.statuses.protocol import StatusStore
from botkit.outbound.statuses.redis import RedisStatusStore
from botkit.runtime.outbound import Outbound, open_outbound
from botkit.sessions.memory import MemorySessionStore
from botkit.sessions.protocol import SessionStore
from botkit.sessions.redis import RedisSessionStore
from botkit.settings import Settings
from botkit.twilio.development import DEVELOPMENT_AUTH_TOKEN


@dataclass
class Stores:
    sessions: SessionStore
    inbound: InboundQueue
    outbound: Outbound
    statuses: StatusStore = field(default_factory=MemoryStatusStore)
    redis: Redis | None = field(default=None)

    async def ping(self) -> None:
        if self.redis is not None:
            await self.redis.ping()

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


async def open_stores(settings: Settings, namespace: str) -> Stores:
    """Memory stores without REDIS_URL; Redis ones with it, checked reachable now."""
    if settings.redis_url is None:
        return Stores(
            sessions=MemorySessionStore(),
            inbound=MemoryInboundQueue(),
            outbound=open_outbound(settings, None, namespace),
        )
    # Sends, claims and sessions run concurrently: allow a pool well above their sum.
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=3, max_connections=1024)
    queue = RedisInboundQueue(redis, namespace)
    try:
        await redis.ping()
        await queue.ensure_group()
    except (RedisError, OSError) as exc:
        await redis.aclose()
        raise ConfigError(f"REDIS_URL: cannot reach Redis ({exc})") from None
    return Stores(
        sessions=RedisSessionStore(redis),
        inbound=queue,
        outbound=open_outbound(settings, redis, namespace),
        statuses=RedisStatusStore(redis),
        redis=redis,
    )


def auth_token(settings: Settings) -> str:
    """The secret webhooks are signed with."""
    if settings.twilio_auth_token:
        return settings.twilio_auth_token
    if settings.development:
        return DEVELOPMENT_AUTH_TOKEN
    raise ConfigError("TWILIO_AUTH_TOKEN: required when TWILIO_ACCOUNT_SID is set")
