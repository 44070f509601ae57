"""The ``botkit`` command. Errors a user can fix are printed as one line, never a traceback."""

from __future__ import annotations

import asyncio
import signal
import sys

import click
from aiohttp import web

from botkit.errors import BotkitError
from botkit.loader import load_bot
from botkit.logging import configure_logging, get_logger
from botkit.server.app import create_app
from botkit.settings import Settings, load_settings

log = get_logger("cli")


@click.group()
@click.version_option(package_name="botkit")
def main() -> None:
    """Build SMS, MMS and WhatsApp bots on Twilio."""


@main.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
def run(target: str, host: str, port: int) -> None:
    """Serve the bot's webhooks and run its handlers."""
    try:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        bot = load_bot(target)
        asyncio.run(_serve(create_app(bot, settings), settings, host, port))
    except BotkitError as exc:
        click.secho(f"botkit: {exc}", fg="red", err=True)
        sys.exit(2)


async def _serve(app: web.Application, settings: Settings, host: str, port: int) -> None:
    """Run until SIGTERM or SIGINT, then let handlers in flight finish before exiting."""
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        _announce(settings, host, port)
        await stop.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()


def _announce(settings: Settings, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    log.info("listening", url=base, webhook=f"{base}/twilio/messages")
    if settings.development:
        log.info(
            "development mode: no TWILIO_ACCOUNT_SID, so replies are printed here "
            "and webhooks are signed with the development token",
            store="redis" if settings.redis_url else "memory",
        )
