"""The ``botkit`` command. Errors a user can fix are printed as one line, never a traceback."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import click
from aiohttp import web

from botkit.app.bot import Bot
from botkit.app.loader import load_bot
from botkit.cli import devserver
from botkit.cli.campaigns import broadcast, campaigns, send
from botkit.cli.chat import chat as run_chat
from botkit.cli.commands import (
    bind_errors,
    check_port,
    one_line_errors,
    run_command,
    tune_gc,
    watch_signals,
)
from botkit.cli.messages import messages
from botkit.cli.new import new
from botkit.cli.optout import optout
from botkit.cli.privacy import privacy
from botkit.cli.sandbox_options import messaging_service
from botkit.cli.sandbox_registry import shared_sandbox
from botkit.cli.serving import check_shared_stores, serve_with_workers, worker_count
from botkit.cli.worker import deadletters, worker
from botkit.core import event_loop
from botkit.core.net import is_loopback, local_url
from botkit.errors import ConfigError
from botkit.logging import configure_logging, get_logger
from botkit.runtime.stores import open_stores
from botkit.sandbox import Sandbox, SandboxConfig
from botkit.server.app import create_app, require_public_origin
from botkit.server.connections import GuardedRunner
from botkit.settings import Settings, load_settings

log = get_logger("cli")

#: How long each serving process may take to finish its handlers after SIGTERM.
SHUTDOWN_GRACE = 30.0


@click.group()
@click.version_option(package_name="botkit")
def main() -> None:
    """Build SMS, MMS and WhatsApp bots on Twilio."""


@main.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--sandbox-port",
    default=8081,
    show_default=True,
    type=int,
    help="Port of the sandbox started when TWILIO_ACCOUNT_SID is unset.",
)
@click.option(
    "--dispatch/--no-dispatch",
    default=True,
    show_default=True,
    help="Run outbound workers in this process (off: leave sending to `botkit worker`).",
)
@click.option(
    "--workers",
    default="1",
    show_default=True,
    metavar="N|auto",
    help="Serving processes on the one port (auto: one per core). More than 1 needs REDIS_URL.",
)
@click.option(
    "--expose-development",
    is_flag=True,
    envvar="BOTKIT_EXPOSE_DEVELOPMENT",
    show_envvar=True,
    help="Let development mode (no TWILIO_ACCOUNT_SID) listen on a --host other than loopback.",
)
def run(
    target: str,
    host: str,
    port: int,
    sandbox_port: int,
    dispatch: bool,
    workers: str,
    expose_development: bool,
) -> None:
    """Serve the bot's webhooks and run its handlers.

    Without TWILIO_ACCOUNT_SID, a local Twilio sandbox starts too, with a phone simulator, and
    everything listens on loopback only unless --expose-development says otherwise.
    """
    with one_line_errors():
        count = worker_count(workers)
    if count > 1:
        _run_workers(target, host, port, sandbox_port, dispatch, count, expose_development)
        return

    async def serve() -> None:
        settings, bot = _prepare(target)
        _check_exposure(settings, host, expose_development)
        async with _maybe_sandbox(settings, host, sandbox_port) as (wired, box, sandbox_url):
            if box is not None:
                webhook = local_url(host, port, "/twilio/messages")
                box.own_number(devserver.DEMO_NUMBER, webhook)
            app = create_app(bot, wired, dispatch=dispatch)
            await _serve(app, host, port, box, sandbox_url, wired)

    run_command(serve())


def _run_workers(
    target: str,
    host: str,
    port: int,
    sandbox_port: int,
    dispatch: bool,
    count: int,
    expose_development: bool,
) -> None:
    """``run --workers N``: the parent checks what it can (settings, the bot, Redis, the port)
    so that a mistake is one line, then gunicorn's arbiter forks the serving processes."""
    with one_line_errors():
        settings, bot = _prepare(target)
        require_public_origin(settings)
        _check_exposure(settings, host, expose_development)
        check_shared_stores(count, settings.redis_url)
        event_loop.run(_reachable(settings, bot.name))
        check_port(host, port)

    async def app(stack: AsyncExitStack) -> web.Application:
        wired, box, _ = await stack.enter_async_context(
            _maybe_sandbox(settings, host, sandbox_port)
        )
        if box is not None:
            box.own_number(devserver.DEMO_NUMBER, local_url(host, port, "/twilio/messages"))
            click.secho(f"\n  Open the phone simulator: {box.url}/\n", fg="green", bold=True)
        tune_gc()
        return create_app(bot, wired, dispatch=dispatch)

    base = local_url(host, port, "")
    log.info(
        "listening",
        url=base,
        webhook=f"{base}/twilio/messages",
        workers=count,
        loop=event_loop.chosen_loop(),
    )
    serve_with_workers(app, host, port, count, grace=SHUTDOWN_GRACE)


def _check_exposure(settings: Settings, host: str, expose: bool) -> None:
    """Development mode listens on loopback only: its sandbox and simulator have no
    authentication, and its webhooks are signed with the token the README publishes. Anything
    else takes --expose-development, and is said loudly."""
    if not settings.development or is_loopback(host):
        return
    if not expose:
        raise ConfigError(
            f"--host {host}: development mode (no TWILIO_ACCOUNT_SID) listens on loopback only, "
            "since its sandbox has no authentication and its webhook token is public; set "
            "TWILIO_ACCOUNT_SID, or pass --expose-development (BOTKIT_EXPOSE_DEVELOPMENT=1)"
        )
    warning = (
        f"DEVELOPMENT MODE ON {host}: the sandbox and simulator answer anyone who can reach "
        "this host, and anyone can sign webhooks with the published development token"
    )
    log.warning(warning, host=host)
    click.secho(f"\n  {warning}\n", fg="red", bold=True, err=True)


async def _reachable(settings: Settings, namespace: str) -> None:
    """Redis answers, before any process is forked: a wrong REDIS_URL is one line, once."""
    stores = await open_stores(settings, namespace)
    await stores.close()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8081, show_default=True, type=int, help="Port to listen on.")
@click.option("--number", "numbers", multiple=True, help="NUMBER=WEBHOOK_URL the sandbox owns.")
@click.option(
    "--messaging-service",
    "services",
    multiple=True,
    help="MG_SID=NUMBER,NUMBER...: a Messaging Service and its sender pool.",
)
@click.option("--strict-rates", is_flag=True, help="Answer 429/20429 when a sender goes too fast.")
@click.option(
    "--webhook-host",
    "webhook_hosts",
    multiple=True,
    help="Also post webhooks to this host (default: loopback only), e.g. a tunnel's.",
)
def sandbox(
    host: str,
    port: int,
    numbers: tuple[str, ...],
    services: tuple[str, ...],
    strict_rates: bool,
    webhook_hosts: tuple[str, ...],
) -> None:
    """Run the local Twilio-compatible sandbox and its phone simulator on its own."""

    async def serve() -> None:
        settings = load_settings()
        configure_logging(settings.log_format, settings.log_level)
        pools = [messaging_service(spec) for spec in services]
        config = SandboxConfig(strict_rates=strict_rates, services=pools)
        if webhook_hosts:
            allowed = (config.webhook_hosts or frozenset()) | frozenset(webhook_hosts)
            config = config.model_copy(update={"webhook_hosts": allowed})
        signalled = watch_signals()
        box = Sandbox(config)
        for spec in numbers:
            number, _, url = spec.partition("=")
            box.own_number(number.strip(), url.strip() or None)
        async with bind_errors("--port", host, port):
            await box.start(host, port)
        try:
            log.info("sandbox running", simulator=box.url + "/", account_sid=box.config.account_sid)
            click.secho(
                f"\n  Sandbox at {box.url}  (TWILIO_ACCOUNT_SID={box.config.account_sid}, "
                f"TWILIO_AUTH_TOKEN={box.config.auth_token})\n",
                fg="green",
            )
            tune_gc()
            await signalled.wait()
        finally:
            await box.stop()

    run_command(serve())


@main.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option("--phone", default="+15550001234", show_default=True, help="Your phone number.")
@click.option("--whatsapp", is_flag=True, help="Chat over WhatsApp instead of SMS.")
def chat(target: str, phone: str, whatsapp: bool) -> None:
    """Chat with a bot from the terminal, through a local sandbox."""

    async def talk() -> None:
        settings, bot = _prepare(target, quiet=True)
        box = await devserver.start_sandbox()
        wired = devserver.connect(settings, box.url)
        runner = web.AppRunner(create_app(bot, wired), access_log=None)
        try:
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            bot_port = runner.addresses[0][1]
            box.own_number(
                devserver.DEMO_NUMBER,
                local_url("127.0.0.1", bot_port, "/twilio/messages"),
            )
            await devserver.wire_conversations(
                wired, local_url("127.0.0.1", bot_port, "/twilio/conversations")
            )
            prefix = "whatsapp:" if whatsapp else ""
            await run_chat(box, prefix + phone, prefix + devserver.DEMO_NUMBER)
        finally:
            await runner.cleanup()
            await box.stop()

    run_command(talk())


def _prepare(target: str, *, quiet: bool = False) -> tuple[Settings, Bot]:
    """quiet (``botkit chat``): only warnings, and on stderr, out of the conversation."""
    settings = load_settings()
    if quiet:
        configure_logging(settings.log_format, "warning", sys.stderr)
    else:
        configure_logging(settings.log_format, settings.log_level)
    return settings, load_bot(target)


@asynccontextmanager
async def _maybe_sandbox(
    settings: Settings, host: str, port: int
) -> AsyncIterator[tuple[Settings, Sandbox | None, str | None]]:
    """A development sandbox when no Twilio is configured: shared through Redis if REDIS_URL
    is set (the first process starts it), else this process's own.

    Yields the settings to run with, the sandbox if this process runs it, and its URL.
    """
    if not devserver.wants_sandbox(settings):
        yield settings, None, None
        return

    async def start() -> Sandbox:
        async with bind_errors("--sandbox-port", host, port):
            return await devserver.start_sandbox(host, port)

    if settings.redis_url is None:
        box = await start()
        try:
            yield devserver.connect(settings, box.url), box, box.url
        finally:
            await box.stop()
        return
    async with shared_sandbox(settings.redis_url, start) as (url, owned):
        yield devserver.connect(settings, url), owned, url


async def _serve(
    app: web.Application,
    host: str,
    port: int,
    box: Sandbox | None,
    sandbox_url: str | None,
    settings: Settings,
) -> None:
    """Run until SIGTERM or SIGINT, then let handlers in flight finish before exiting.

    box is the development sandbox this process runs, if any; sandbox_url the one in use,
    which may be another process's.
    """
    signalled = watch_signals()
    runner = GuardedRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        async with bind_errors("--port", host, port):
            await web.TCPSite(runner, host, port).start()
        base = local_url(host, port, "")
        log.info(
            "listening", url=base, webhook=f"{base}/twilio/messages", loop=event_loop.chosen_loop()
        )
        if sandbox_url is not None:
            await devserver.wire_conversations(settings, f"{base}/twilio/conversations")
        if box is not None:
            log.info(
                "development mode: no TWILIO_ACCOUNT_SID, so a local Twilio sandbox is running",
                simulator=box.url + "/",
                bot_number=devserver.DEMO_NUMBER,
            )
            click.secho(f"\n  Open the phone simulator: {box.url}/\n", fg="green", bold=True)
        elif sandbox_url is not None:
            log.info("development mode: using the shared sandbox", simulator=f"{sandbox_url}/")
        tune_gc()
        await signalled.wait()
        log.info("shutting down")
    finally:
        await runner.cleanup()


main.add_command(broadcast)
main.add_command(send)
main.add_command(campaigns)
main.add_command(optout)
main.add_command(privacy)
main.add_command(worker)
main.add_command(deadletters)
main.add_command(messages)
main.add_command(new)
