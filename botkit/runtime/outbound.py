"""The outbound side of the composition root: the outbox handlers send through, and the
workers that send what it queued. ``botkit run`` and ``botkit worker`` build them the same way."""

from __future__ import annotations

from collections.abc import Callable

from botkit.campaigns.counter import CampaignCounter
from botkit.campaigns.feeder import CampaignFeeder
from botkit.metrics import Metrics
from botkit.outbound.messenger import Messenger
from botkit.outbound.outbox import QueueOutbox
from botkit.outbound.retention import DeadLetterRetention
from botkit.outbound.shaping import Shaper, WhatsAppTemplate
from botkit.outbound.worker import OutboundWorker, Outcomes, SendPolicy
from botkit.runtime.stores import Stores
from botkit.runtime.twilio import twilio_client
from botkit.settings import Settings


def open_outbox(
    stores: Stores, settings: Settings, wake: Callable[[], None] | None = None
) -> QueueOutbox:
    """``wake``: tell an idle worker in this process at once (others hear through the queue)."""
    return QueueOutbox(stores.queue, stores.jobs, wake, settings.quiet_hours)


def start_outbound_worker(
    stores: Stores,
    settings: Settings,
    template: WhatsAppTemplate | None,
    metrics: Metrics | None = None,
    outcomes: Outcomes | None = None,
) -> OutboundWorker:
    """A running outbound worker with its own SDK client; the caller ``stop()``s it, which
    also closes the client."""
    policy = SendPolicy(
        concurrency=settings.dispatch_concurrency,
        lease=settings.dispatch_lease,
        max_attempts=settings.max_attempts,
        status_callback=f"{settings.public_url}/twilio/status" if settings.public_url else None,
    )
    shaper = Shaper(stores.windows, template, settings.quiet_hours)
    worker = OutboundWorker(
        stores.queue,
        twilio_client(settings),
        stores.ledger,
        policy,
        shape=shaper,
        metrics=metrics,
        retention=DeadLetterRetention(
            whole=settings.dead_letter_retention,
            redacted=settings.redacted_dead_letter_retention,
            every=settings.retention_sweep_interval,
        ),
        outcomes=outcomes,
    )
    worker.start()
    return worker


def start_campaign_feeder(
    stores: Stores, settings: Settings, messenger: Messenger, counter: CampaignCounter
) -> CampaignFeeder:
    """A running feeder of the campaigns that are sending (botkit/campaigns/feeder.py)."""
    feeder = CampaignFeeder(
        stores.campaigns,
        messenger,
        stores.ledger,
        stores.hasher,
        counter,
        settings.rates,
        settings.quiet_hours,
    )
    feeder.start()
    return feeder
