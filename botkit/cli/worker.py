"""``botkit worker`` (outbound workers alone) and ``botkit deadletters`` (inspect, replay)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import click
from aiohttp import web

from botkit.app.bot import Bot
from botkit.app.loader import load_bot
from botkit.campaigns.counter import CampaignCounter
from botkit.campaigns.figures import report_campaigns
from botkit.cli import devserver
from botkit.cli.commands import bind_errors, run_command, tune_gc, watch_signals
from botkit.core.net import local_url
from botkit.errors import ConfigError
from botkit.logging import configure_logging, get_logger, mask_phone
from botkit.metrics import Metrics
from botkit.outbound.messenger import From, Messenger
from botkit.outbound.worker import OutboundWorker
from botkit.runtime.outbound import open_outbox, start_campaign_feeder, start_outbound_worker
from botkit.runtime.stores import Stores, open_stores
from botkit.runtime.twilio import twilio_client
from botkit.server.probes import Probes
from botkit.settings import Settings, load_settings

log = get_logger("worker")


#: Why each command needs REDIS_URL, for its one-line error.
WORKERS_NEED_REDIS = "since workers share the queue with the webhook processes"
DEAD_LETTERS_NEED_REDIS = (
    "dead letters are kept in the shared Redis queue (without REDIS_URL a development bot "
    "keeps them in its own process's memory, which this command cannot reach)"
)


@asynccontextmanager
async def redis_stores(
    target: str, why: str = WORKERS_NEED_REDIS
) -> AsyncIterator[tuple[Settings, Stores, Bot]]:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    bot = load_bot(target)
    if settings.redis_url is None:
        raise ConfigError(f"REDIS_URL: required, {why}")
    stores = await open_stores(settings, bot.name)
    try:
        yield settings, stores, bot
    finally:
        await stores.close()


@asynccontextmanager
async def _started(bot: Bot, settings: Settings) -> AsyncIterator[None]:
    """The bot's startup hooks before the workers, its shutdown hooks after: a hook may pick
    ``bot.whatsapp_template``, which the workers need as much as the webhook process does."""
    twilio = twilio_client(settings)
    try:
        await bot.lifecycle.start(settings, twilio)
        yield
    finally:
        await bot.lifecycle.stop()
        await twilio.http_client.close()


@click.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option(
    "--concurrency", type=int, default=None, help="Requests to Twilio in flight (default: setting)."
)
@click.option(
    "--port",
    type=int,
    default=None,
    help="Serve /healthz, /readyz and /metrics on this port (default: no HTTP).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface for --port.")
def worker(target: str, concurrency: int | None, port: int | None, host: str) -> None:
    """Run outbound workers only, to scale sending apart from the webhook processes."""

    async def work() -> None:
        async with redis_stores(target) as (found, stores, bot):
            settings = await devserver.shared_development_settings(found)
            if concurrency is not None:
                settings = settings.model_copy(update={"dispatch_concurrency": concurrency})
            async with _started(bot, settings):
                await _send_until_signalled(settings, stores, bot, host, port)

    run_command(work())


async def _send_until_signalled(
    settings: Settings, stores: Stores, bot: Bot, host: str, port: int | None
) -> None:
    signalled = watch_signals()
    metrics = Metrics()
    counter = CampaignCounter(stores.campaigns)
    counter.start()
    outbound_worker = start_outbound_worker(
        stores, settings, bot.whatsapp_template, metrics, outcomes=counter.observe
    )
    # Campaigns are fed where they are sent: a deployment that runs only `botkit worker`
    # processes besides its webhooks still sends its campaigns.
    messenger = Messenger(
        open_outbox(stores, settings, outbound_worker.wake),
        From(messaging_service_sid=settings.messaging_service_sid),
    )
    feeder = start_campaign_feeder(stores, settings, messenger, counter)
    try:
        async with _probes_served(_probes(outbound_worker, stores, metrics), host, port):
            log.info("dispatcher running", concurrency=settings.dispatch_concurrency)
            tune_gc()
            await signalled.wait()
            log.info("shutting down")
    finally:
        await feeder.stop()
        await outbound_worker.stop()
        await outbound_worker.client.http_client.close()
        await counter.stop()


def _probes(outbound_worker: OutboundWorker, stores: Stores, metrics: Metrics) -> Probes:
    async def ping(_: web.Request) -> None:
        await stores.ping()

    async def refresh(_: web.Request) -> None:
        metrics.outbound_pending.set(await stores.queue.pending())
        await report_campaigns(stores.campaigns, metrics)

    return Probes(metrics, lambda _: outbound_worker.trouble(), ping, refresh)


@asynccontextmanager
async def _probes_served(probes: Probes, host: str, port: int | None) -> AsyncIterator[None]:
    """The probe pages on host:port while the block runs; nothing when port is None."""
    if port is None:
        yield
        return
    app = web.Application()
    app.router.add_routes(probes.routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        async with bind_errors("--port", host, port):
            await web.TCPSite(runner, host, port).start()
        log.info("probes served", url=local_url(host, port))
        yield
    finally:
        await runner.cleanup()


@click.group()
def deadletters() -> None:
    """Messages that could not be sent: list them, replay them."""


@deadletters.command("list")
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option(
    "--limit", type=int, default=50, show_default=True, help="How many dead letters to list."
)
@click.option(
    "--reveal",
    is_flag=True,
    help="Print recipients' numbers whole (masked by default, like +1555***0123).",
)
def list_letters(target: str, limit: int, reveal: bool) -> None:
    """The newest dead letters, with the reason and Twilio's last error. Recipients are masked
    unless --reveal: an operator's terminal, and its scrollback, are not a place for numbers."""

    async def work() -> None:
        async with redis_stores(target, DEAD_LETTERS_NEED_REDIS) as (_, stores, _bot):
            letters = await stores.queue.dead_letters(limit)
            if not letters:
                click.echo("no dead letters")
            for letter in letters:
                at = datetime.fromtimestamp(letter.at_us / 1_000_000, UTC).isoformat(
                    timespec="seconds"
                )
                message = letter.job.message
                to = message.to if reveal else mask_phone(message.to)
                click.echo(
                    f"{letter.job.id}  {at}  to {to}  {letter.reason}"
                    f"  attempts={letter.attempts}  {letter.error or ''}".rstrip()
                )

    run_command(work())


@deadletters.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.argument("job_ids", nargs=-1, required=True)
def replay(target: str, job_ids: tuple[str, ...]) -> None:
    """Put dead letters back in line, with fresh attempts."""

    async def work() -> None:
        async with redis_stores(target, DEAD_LETTERS_NEED_REDIS) as (_, stores, _bot):
            missing = [j for j in job_ids if not await stores.queue.replay(j)]
            for job_id in job_ids:
                click.echo(f"{job_id}: {'not a dead letter' if job_id in missing else 'queued'}")
            if missing:
                raise ConfigError(f"{len(missing)} of {len(job_ids)} were not dead letters")

    run_command(work())
