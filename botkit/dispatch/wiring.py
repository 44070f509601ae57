"""Building the outbound side from settings: queue, ledger, WhatsApp windows, dispatcher.

Memory stores without REDIS_URL (one process, development), Redis ones with it. Kept apart from
botkit/runtime.py so that ``botkit worker`` can build exactly the same thing without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger import ConsentLedger
from botkit.compliance.ledger_memory import MemoryConsentLedger
from botkit.compliance.ledger_redis import RedisConsentLedger
from botkit.dispatch.dispatcher import Dispatcher, DispatchPolicy
from botkit.dispatch.job import Job
from botkit.dispatch.jobs import JobFactory, consent_scopes
from botkit.dispatch.memory_queue import MemoryOutboundQueue
from botkit.dispatch.outbox import DispatchOutbox
from botkit.dispatch.queue import OutboundQueue
from botkit.dispatch.redis_queue import RedisOutboundQueue
from botkit.dispatch.shaping import Shaper, WhatsAppTemplate
from botkit.dispatch.window import MemoryWindowStore, RedisWindowStore, WindowStore
from botkit.metrics import Metrics
from botkit.settings import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN, Settings
from botkit.twilio.client import create_async_client


@dataclass
class Outbound:
    queue: OutboundQueue
    ledger: ConsentLedger
    windows: WindowStore
    factory: JobFactory


def open_outbound(settings: Settings, redis: Redis | None, namespace: str) -> Outbound:
    hasher = NumberHasher(settings.pepper())
    factory = JobFactory(settings.rates, hasher)
    if redis is None:
        ledger = MemoryConsentLedger(hasher)

        async def blocked(job: Job) -> bool:
            return await ledger.is_opted_out(job.message.to, consent_scopes(job.message))

        queue = MemoryOutboundQueue(blocked, consent_changes=lambda: ledger.changes)
        return Outbound(queue, ledger, MemoryWindowStore(), factory)
    return Outbound(
        RedisOutboundQueue(redis, namespace),
        RedisConsentLedger(redis, hasher),
        RedisWindowStore(redis),
        factory,
    )


def outbox_for(
    outbound: Outbound, settings: Settings, wake: Callable[[], None] | None
) -> DispatchOutbox:
    return DispatchOutbox(outbound.queue, outbound.factory, wake, settings.quiet_hours)


def start_dispatcher(
    outbound: Outbound,
    settings: Settings,
    template: WhatsAppTemplate | None,
    metrics: Metrics | None = None,
) -> Dispatcher:
    """A running dispatcher; the caller stops it and closes its client's http session."""
    client = create_async_client(
        settings.twilio_account_sid or DEVELOPMENT_ACCOUNT_SID,
        settings.twilio_auth_token or DEVELOPMENT_AUTH_TOKEN,
        settings.twilio_base_url,
    )
    policy = DispatchPolicy(
        concurrency=settings.dispatch_concurrency,
        lease=settings.dispatch_lease,
        max_attempts=settings.max_attempts,
        status_callback=f"{settings.public_url}/twilio/status" if settings.public_url else None,
    )
    shaper = Shaper(outbound.windows, template, settings.quiet_hours)
    dispatcher = Dispatcher(
        outbound.queue, client, outbound.ledger, policy, shape=shaper, metrics=metrics
    )
    dispatcher.start()
    return dispatcher
