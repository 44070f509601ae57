"""``botkit worker`` (dispatcher workers alone) and ``botkit deadletters`` (inspect, replay)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import click

from botkit.bot import Bot
from botkit.commands import run_command, tune_gc, until_signalled
from botkit.dispatch.wiring import start_dispatcher
from botkit.errors import ConfigError
from botkit.loader import load_bot
from botkit.logging import configure_logging, get_logger
from botkit.runtime import Stores, auth_token, open_stores
from botkit.settings import Settings, load_settings

log = get_logger("worker")


@asynccontextmanager
async def _redis_stores(target: str) -> AsyncIterator[tuple[Settings, Stores, Bot]]:
    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    bot = load_bot(target)
    if settings.redis_url is None:
        raise ConfigError(
            "REDIS_URL: required, since workers share the queue with the webhook processes"
        )
    stores = await open_stores(settings, bot.name)
    try:
        yield settings, stores, bot
    finally:
        await stores.close()


@asynccontextmanager
async def _started(bot: Bot, settings: Settings) -> AsyncIterator[None]:
    """The bot's startup hooks before the workers, its shutdown hooks after: a hook may pick
    ``bot.whatsapp_template``, which the workers need as much as the webhook process does."""
    try:
        await bot.lifecycle.start(settings, auth_token(settings))
        yield
    finally:
        await bot.lifecycle.stop()


@click.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option(
    "--concurrency", type=int, default=None, help="Requests to Twilio in flight (default: setting)."
)
def worker(target: str, concurrency: int | None) -> None:
    """Run dispatcher workers only, to scale sending apart from the webhook processes."""

    async def work() -> None:
        async with _redis_stores(target) as (settings, stores, bot), _started(bot, settings):
            if concurrency is not None:
                settings = settings.model_copy(update={"dispatch_concurrency": concurrency})
            dispatcher = start_dispatcher(stores.outbound, settings, bot.whatsapp_template)
            log.info("dispatcher running", concurrency=settings.dispatch_concurrency)
            tune_gc()
            await until_signalled()
            log.info("shutting down")
            await dispatcher.stop()
            await dispatcher.client.http_client.close()

    run_command(work())


@click.group()
def deadletters() -> None:
    """Messages that could not be sent: list them, replay them."""


@deadletters.command("list")
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option("--limit", type=int, default=50, show_default=True)
def list_letters(target: str, limit: int) -> None:
    """The newest dead letters, with the reason and Twilio's last error."""

    async def work() -> None:
        async with _redis_stores(target) as (_, stores, _bot):
            letters = await stores.outbound.queue.dead_letters(limit)
            if not letters:
                click.echo("no dead letters")
            for letter in letters:
                at = datetime.fromtimestamp(letter.at_us / 1_000_000, UTC).isoformat(
                    timespec="seconds"
                )
                message = letter.job.message
                click.echo(
                    f"{letter.job.id}  {at}  to {message.to}  {letter.reason}"
                    f"  attempts={letter.attempts}  {letter.error or ''}".rstrip()
                )

    run_command(work())


@deadletters.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.argument("job_ids", nargs=-1, required=True)
def replay(target: str, job_ids: tuple[str, ...]) -> None:
    """Put dead letters back in line, with fresh attempts."""

    async def work() -> None:
        async with _redis_stores(target) as (_, stores, _bot):
            missing = [j for j in job_ids if not await stores.outbound.queue.replay(j)]
            for job_id in job_ids:
                click.echo(f"{job_id}: {'not a dead letter' if job_id in missing else 'queued'}")
            if missing:
                raise ConfigError(f"{len(missing)} of {len(job_ids)} were not dead letters")

    run_command(work())
