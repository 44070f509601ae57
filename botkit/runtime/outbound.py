"""Building the outbound side from settings: queue, ledger, WhatsApp windows, dispatcher.

Memory stores without REDIS_URL (one process, development), Redis ones with it. Kept apart from
botkit/runtime/stores.py so that ``botkit worker`` can build exactly the same thing without a
server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.memory import MemoryConsentLedger
from botkit.compliance.ledger.protocol import ConsentLedger
from botkit.compliance.ledger.redis import RedisConsentLedger
from botkit.compliance.windows.memory import MemoryWindowStore
from botkit.compliance.windows.protocol import WindowStore
from botkit.compliance.windows.redis import RedisWindowStore
from botkit.metrics import Metrics
from botkit.outbound.job import Job, JobFactory, consent_scopes
from botkit.outbound.outbox import QueueOutbox
from botkit.outbound.queue.memory import MemoryOutboundQueue
from botkit.outbound.queue.protocol import OutboundQueue
from botkit.outbound.queue.redis import RedisOutboundQueue
from botkit.outbound.shaping import Shaper, WhatsAppTemplate
from botkit.outbound.worker import OutboundWorker, SendPolicy
from botkit.settings import Settings
from botkit.twilio.client import create_async_client
from botkit.twilio.development import DEVELOPMENT_ACCOUNT_SID, DEVELOPMENT_AUTH_TOKEN


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
) -> QueueOutbox:
    return QueueOutbox(outbound.queue, outbound.factory, wake, settings.quiet_hours)


def start_outbound_worker(
    outbound: Outbound,
    settings: Settings,
    template: WhatsAppTemplate | None,
    metrics: Metrics | None = None,
) -> OutboundWorker:
    """A running dispatcher; the caller stops it and closes its client's http session."""
    client = create_async_client(
        settings.twilio_account_sid or DEVELOPMENT_ACCOUNT_SID,
        settings.twilio_auth_token or DEVELOPMENT_AUTH_TOKEN,
        settings.twilio_base_url,
    )
    policy = SendPolicy(
        concurrency=settings.dispatch_concurrency,
        lease=settings.dispatch_lease,
        max_attempts=settings.max_attempts,
        status_callback=f"{settings.public_url}/twilio/status" if settings.public_url else None,
    )
    shaper = Shaper(outbound.windows, template, settings.quiet_hours)
    dispatcher = OutboundWorker(
        outbound.queue, client, outbound.ledger, policy, shape=shaper, metrics=metrics
    )
    dispatcher.start()
    return dispatcher
