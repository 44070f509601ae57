"""``botkit privacy``: one person's data exported or erased, and the one-time re-key.

A data subject's request is answered with one command each: ``export NUMBER`` writes one JSON
document of everything botkit and the bot hold about them; ``erase NUMBER`` deletes it all but
their hashed opt-out state and its audit trail, and prints what it removed by kind. Both need
the bot (``--bot MODULE``, or BOTKIT_BOT): its name namespaces its stores, and its privacy
hooks add its own records. Both need REDIS_URL, for the same reason as ``botkit optout``: a
development bot's memory stores live inside its process (there, ``Runtime.privacy`` does the
same from code: botkit/runtime/privacy.py).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import click
from redis.exceptions import RedisError
from twilio.base.exceptions import TwilioRestException

from botkit.app.loader import load_bot
from botkit.cli.commands import output_option, run_command
from botkit.compliance.hashing import normalize_number
from botkit.errors import ConfigError
from botkit.logging import configure_logging
from botkit.runtime.persistence import rewrite_persistence
from botkit.runtime.privacy import Privacy
from botkit.runtime.privacy_twilio import TwilioRecords
from botkit.runtime.rekey import Rekey
from botkit.runtime.stores import Stores, open_stores
from botkit.runtime.twilio import twilio_client
from botkit.sessions.shards import Shards
from botkit.settings import Settings, load_settings

_PUNCTUATION = re.compile(r"[\s().-]")

NEEDS_REDIS = (
    "REDIS_URL: required, since a person's data is in the shared Redis (a development bot "
    "without it keeps its data in its own process's memory, which this command cannot reach)"
)

bot_option = click.option(
    "--bot",
    "target",
    required=True,
    envvar="BOTKIT_BOT",
    show_envvar=True,
    metavar="MODULE[:ATTR]",
    help="The bot whose data this is (its name namespaces its stores; its hooks add its own).",
)
twilio_option = click.option(
    "--with-twilio",
    is_flag=True,
    help="Also Twilio's records: their messages (listed, or deleted) and conversations (left).",
)


def _number(raw: str) -> str:
    """The bare E.164 number of what an operator typed or pasted (spaces, dashes, dots and
    parentheses dropped: ``+1 (555) 123-0123``)."""
    try:
        return normalize_number(_PUNCTUATION.sub("", raw))
    except ValueError:
        raise ConfigError(
            f"NUMBER: {raw!r} is not a phone number (E.164, like +15551230123, or "
            "whatsapp:+15551230123)"
        ) from None


@asynccontextmanager
async def _privacy(target: str, with_twilio: bool) -> AsyncIterator[tuple[Privacy, Stores]]:
    settings = load_settings()
    # On stderr: standard output is the export's.
    configure_logging(settings.log_format, settings.log_level, sys.stderr)
    if settings.redis_url is None:
        raise ConfigError(NEEDS_REDIS)
    if with_twilio and settings.development:
        raise ConfigError(
            "--with-twilio: needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (development mode "
            "has no Twilio account to ask)"
        )
    bot = load_bot(target)
    stores = await open_stores(settings, bot.name)
    twilio = twilio_client(settings) if with_twilio else None
    try:
        records = None if twilio is None else TwilioRecords(twilio)
        yield Privacy(stores, bot, twilio=records, audit_retention=settings.audit_retention), stores
    except RedisError as exc:
        raise ConfigError(f"Redis at REDIS_URL failed: {exc}") from None
    except TwilioRestException as exc:
        raise ConfigError(
            f"--with-twilio: Twilio answered {exc.status} (error {exc.code}: {exc.msg}); "
            "nothing after that step was done, run the command again"
        ) from None
    except (OSError, TimeoutError) as exc:
        raise ConfigError(
            f"--with-twilio: cannot reach Twilio ({exc}); nothing after that step was done, "
            "run the command again"
        ) from None
    finally:
        if twilio is not None:
            await twilio.http_client.close()
        await stores.close()


def _run(work: Callable[[], Awaitable[None]]) -> None:
    async def main() -> None:
        await work()

    run_command(main())


@click.group("privacy")
def privacy() -> None:
    """A person's data: export it, erase it (needs REDIS_URL and the bot's pepper)."""


@privacy.command()
@click.argument("number")
@bot_option
@twilio_option
@output_option
def export(number: str, target: str, with_twilio: bool, output: str) -> None:
    """Everything held about NUMBER, as one JSON document."""

    async def work() -> None:
        bare = _number(number)
        async with _privacy(target, with_twilio) as (service, _):
            document = await service.export(bare)
        with click.open_file(output, "w", encoding="utf-8") as sink:
            sink.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        if output != "-":
            click.echo(f"wrote the export of {service.person(bare).masked} to {output}", err=True)

    _run(work)


@privacy.command()
@click.argument("number")
@bot_option
@twilio_option
def erase(number: str, target: str, with_twilio: bool) -> None:
    """Delete everything held about NUMBER but their hashed opt-out state; cancel their queued
    messages. Then Redis rewrites its AOF and snapshot (BOTKIT_REWRITE_AOF_AFTER_ERASE)."""

    async def work() -> None:
        bare = _number(number)
        async with _privacy(target, with_twilio) as (service, stores):
            removed = await service.erase(bare)
            settings = load_settings()
            rewrites = await _rewrite(settings, stores)
        click.echo(f"erased {service.person(bare).masked}:")
        for kind, count in removed.items():
            click.echo(f"  {kind}: {count}")
        click.echo("kept: the hashed opt-out state and its audit trail, and this erasure")
        for line in rewrites:
            click.echo(f"persistence: {line}")

    _run(work)


async def _rewrite(settings: Settings, stores: Stores) -> list[str]:
    if not settings.rewrite_aof_after_erase or stores.redis is None:
        return ["not rewritten (BOTKIT_REWRITE_AOF_AFTER_ERASE=0)"]
    return await rewrite_persistence(stores.redis)


@privacy.command()
@bot_option
def migrate(target: str) -> None:
    """Move data stored before keys named people by pseudonym to its new keys (once; safe to
    repeat, and to run beside a live bot)."""

    async def work() -> None:
        async with _privacy(target, False) as (service, stores):
            assert stores.redis is not None
            settings = load_settings()
            shards = Shards(service.bot.name, settings.shards)
            counts = await Rekey(stores.redis, shards, stores.hasher.pseudonym).run()
        for kind, count in counts.items():
            click.echo(f"{kind}: {count} re-keyed")

    _run(work)
