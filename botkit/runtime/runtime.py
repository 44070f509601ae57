"""The composition root: a running bot, built once from settings, in dependency order.

``start_runtime`` is the only place that wires botkit's parts together. Each part receives what
it uses through its constructor, built before it: stores, then the Twilio client, the outbox
and messenger, the Conversations client and the handoff, then the pipelines that run handlers
with all of those, then the workers that feed them. The one link back to the user's ``Bot``
(for ``bot.send``, ``bot.conversations`` and record stores) is ``bot.serve(...)``, set when the
runtime starts and cleared when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from twilio.rest import Client

from botkit.app.bot import Bot, Serving
from botkit.campaigns.counter import CampaignCounter
from botkit.campaigns.feeder import CampaignFeeder
from botkit.campaigns.service import Broadcasts
from botkit.contexts.handoff_closed import close_hooks
from botkit.contexts.reminders import Reminders
from botkit.conversations.client import ConversationsClient
from botkit.conversations.writer import ConversationWriter
from botkit.errors import ConfigError
from botkit.handoff.notices import Notices
from botkit.handoff.service import Handoff
from botkit.inbound.agent_command_intake import AgentCommandIntake
from botkit.inbound.compliance_step import Compliance
from botkit.inbound.conversation_pipeline import ConversationPipeline
from botkit.inbound.events import TimerEvent
from botkit.inbound.message_add_gate import MessageAddGate
from botkit.inbound.pipeline import Handled, Pipeline
from botkit.inbound.status_tracker import StatusTracker
from botkit.inbound.timer_feed import TimerFeed
from botkit.inbound.worker import InboundWorker
from botkit.metrics import Metrics
from botkit.outbound.messenger import From, Messenger
from botkit.outbound.outbox import QueueOutbox
from botkit.outbound.window_fallback import WindowClosedFallback
from botkit.outbound.worker import OutboundWorker
from botkit.runtime.outbound import open_outbox, start_campaign_feeder, start_outbound_worker
from botkit.runtime.privacy import Privacy
from botkit.runtime.stores import Stores, open_stores
from botkit.runtime.twilio import twilio_client
from botkit.sessions.locking import SessionPolicy
from botkit.sessions.protocol import SessionLease
from botkit.settings import Settings
from botkit.twilio.inbound import InboundMessage

#: How long a message waits for its session while another message of the same conversation
#: is being handled.
SESSION_LOCK_WAIT = 60.0


@dataclass
class ConversationSide:
    """What ``POST /twilio/conversations`` and conversation handlers use."""

    client: ConversationsClient
    #: Decides the onMessageAdd pre-event, before a message is added.
    gate: MessageAddGate
    #: Handles accepted post-events in the inbound workers.
    pipeline: ConversationPipeline
    #: Human handoff: ``ctx.handoff``, ``bot.take_next``, agent mode (botkit/handoff/).
    handoff: Handoff
    #: Takes agents' commands (from the pre-event or the agent desk) for the workers to run.
    intake: AgentCommandIntake


@dataclass
class Runtime:
    """A running bot: its stores, Twilio client, outbox, pipelines and workers."""

    bot: Bot
    settings: Settings
    stores: Stores
    twilio: Client
    outbox: QueueOutbox
    messenger: Messenger
    pipeline: Pipeline
    conversations: ConversationSide
    inbound_worker: InboundWorker
    #: None when this process leaves sending to `botkit worker` processes.
    outbound_worker: OutboundWorker | None
    #: Turns due timers into inbound events (running where inbound workers run).
    timer_feed: TimerFeed
    #: Counts campaigns' outcomes, and feeds their audiences to the outbound queue (None: this
    #: process does not feed).
    campaign_counter: CampaignCounter
    campaign_feeder: CampaignFeeder | None
    #: How long stop() lets memory-mode sends drain. A test harness shortens it: a message held
    #: for quiet hours would otherwise hold every test's teardown for the full grace.
    drain_grace: float = 10.0

    @property
    def privacy(self) -> Privacy:
        """Export or erase one person's data in this runtime's stores (memory or Redis alike;
        ``botkit privacy`` does the same against Redis from the command line)."""
        return Privacy(
            self.stores, self.bot, audit_retention=self.settings.audit_retention
        )

    def trouble(self) -> str | None:
        """Why this process is not healthy now (a worker loop that ended or keeps failing)."""
        worker = self.outbound_worker
        feeder = self.campaign_feeder
        return (
            self.inbound_worker.trouble()
            or self.timer_feed.trouble()
            or (feeder.trouble() if feeder else None)
            or (worker.trouble() if worker else None)
        )

    async def idle(self) -> None:
        """Wait until every accepted inbound event has been handled and every message it sent
        has left the outbound queue; wrap in asyncio.timeout."""
        # The queues may live in another process (Redis), so there is no event to wait on.
        while (  # noqa: ASYNC110
            await self.stores.inbound.backlog() or await self.stores.queue.pending()
        ):
            await asyncio.sleep(0.01)

    async def stop(self, grace: float | None = None) -> None:
        """Finish the handlers in flight; then, with memory stores (nothing would survive the
        process), send what they queued before stopping the outbound worker (for ``grace``
        seconds, ``drain_grace`` by default). With Redis, whatever is left stays queued for the
        other processes. Then the bot's shutdown hooks run."""
        grace = self.drain_grace if grace is None else grace
        self.bot.serve(None)
        if self.campaign_feeder is not None:
            await self.campaign_feeder.stop()
        await self.timer_feed.stop()
        await self.inbound_worker.stop()
        worker = self.outbound_worker
        if worker is not None and self.stores.redis is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace):
                    while await self.stores.queue.pending():  # noqa: ASYNC110
                        await asyncio.sleep(0.02)
        if worker is not None:
            await worker.stop()
            await worker.client.http_client.close()
        await self.campaign_counter.stop()
        await self.outbox.close()
        await self.twilio.http_client.close()
        await self.stores.close()
        await self.bot.lifecycle.stop()


async def start_runtime(
    bot: Bot,
    settings: Settings,
    *,
    workers: bool = True,
    dispatch: bool = True,
    metrics: Metrics | None = None,
) -> Runtime:
    """Build and start everything a bot needs to run. ``workers=False`` accepts messages
    without handling them (another process does); ``dispatch=False`` leaves sending to
    `botkit worker` processes. Call inside the running event loop."""
    if settings.development and settings.twilio_base_url is None:
        raise ConfigError(
            "TWILIO_ACCOUNT_SID: unset and no BOTKIT_TWILIO_BASE_URL, so there is nowhere to "
            "send replies (`botkit run` starts a sandbox for you)"
        )
    stores = await open_stores(settings, bot.name)
    twilio = twilio_client(settings)
    try:
        await bot.lifecycle.start(settings, twilio)
    except BaseException:
        await bot.lifecycle.stop()
        await twilio.http_client.close()
        await stores.close()
        raise
    outbound_worker = None
    counter = CampaignCounter(stores.campaigns)
    if workers and dispatch:
        outbound_worker = start_outbound_worker(
            stores, settings, bot.whatsapp_template, metrics, outcomes=counter.observe
        )
    outbox = open_outbox(stores, settings, outbound_worker.wake if outbound_worker else None)
    messenger = Messenger(outbox, From(messaging_service_sid=settings.messaging_service_sid))
    compliance = Compliance(bot.keywords, stores.ledger, stores.windows)
    policy = SessionPolicy(
        ttl=settings.session_ttl, lease=settings.lock_lease, wait=SESSION_LOCK_WAIT
    )
    client = ConversationsClient(twilio, mirror=stores.mirror)
    writer = ConversationWriter(client, settings.conversations_identity)
    handoff = Handoff(
        keys=stores.session_keys,
        client=client,
        writer=writer,
        store=stores.handoffs,
        history=stores.history,
        sessions=stores.sessions,
        policy=policy,
        hasher=stores.hasher,
        notices=Notices(stores.history, stores.hasher.pseudonym, messenger),
        pool=bot.agents,
        texts=bot.handoff_texts,
        on_close=close_hooks(bot.handoff_close_hooks, messenger),
        metrics=metrics,
        transcript_ttl=settings.transcript_retention,
    )
    apology = bot.apology or settings.apology
    routes = bot.compile()
    reminders = Reminders(stores.timers, stores.hasher, routes.names)
    pipeline = Pipeline(
        stores.session_keys,
        routes,
        stores.sessions,
        messenger,
        policy,
        apology,
        compliance=compliance,
        handoff=handoff,
        hold=settings.reply_hold,
        effects=stores.effects,
        reminders=reminders,
    )
    agent_commands = Pipeline(
        stores.session_keys,
        bot.compile_agent_commands(),
        stores.sessions,
        messenger,
        policy,
        apology,
        handoff=handoff,
        effects=stores.effects,
    )
    intake = AgentCommandIntake(
        stores.inbound, handoff, agent_commands.routes, settings.dedup_ttl
    )
    hooks = bot.compile_conversation_hooks()
    conversations = ConversationSide(
        client=client,
        gate=MessageAddGate(
            hooks,
            stores.ledger,
            bot.keywords,
            settings.conversations_identity,
            mirror=stores.mirror,
            intake=intake,
        ),
        pipeline=ConversationPipeline(
            pipeline,
            hooks,
            writer,
            sessions=bot.conversation_sessions,
            compliance=compliance,
            handoff=handoff,
            agent_commands=agent_commands,
        ),
        handoff=handoff,
        intake=intake,
    )
    statuses = StatusTracker(
        stores.statuses,
        bot.compile_status_hooks(),
        messenger,
        reactions=[WindowClosedFallback(stores.queue, outbox, bot.whatsapp_template)],
        campaigns=counter,
    )
    async def process(event: InboundMessage | TimerEvent, held: SessionLease | None) -> Handled:
        return await pipeline.process(event, held, deferred=True)

    inbound_worker = InboundWorker(
        stores.inbound,
        process,
        concurrency=settings.inbound_concurrency,
        lease=settings.inbound_lease,
        session_lease=settings.lock_lease,
        process_status=statuses.process,
        process_conversation=conversations.pipeline.process,
    )
    timer_feed = TimerFeed(stores.timers, stores.inbound, stores.session_keys, settings.dedup_ttl)
    feeder = None
    if workers:
        inbound_worker.start()
        timer_feed.start()
        counter.start()
        feeder = start_campaign_feeder(stores, settings, messenger, counter)
    broadcasts = Broadcasts(stores.campaigns, stores.hasher, feeder.wake if feeder else None)
    bot.serve(
        Serving(
            messenger=messenger,
            handoff=handoff,
            records=stores.records,
            pseudonym=stores.hasher.pseudonym,
            reminders=reminders,
            broadcasts=broadcasts,
        )
    )
    return Runtime(
        bot=bot,
        settings=settings,
        stores=stores,
        twilio=twilio,
        outbox=outbox,
        messenger=messenger,
        pipeline=pipeline,
        conversations=conversations,
        inbound_worker=inbound_worker,
        outbound_worker=outbound_worker,
        timer_feed=timer_feed,
        campaign_counter=counter,
        campaign_feeder=feeder,
    )
