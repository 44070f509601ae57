"""``botkit optout``: operators list, add, remove and export opt-outs in the Redis ledger.

It needs REDIS_URL, because the ledger an operator means is the one every bot process shares;
the in-memory ledger of a development bot lives inside that bot's process and no other command
can reach it. It also needs the bot's BOTKIT_CONSENT_PEPPER, since records are found by the HMAC
of a number: with another pepper, every lookup would miss and every add would go unnoticed. In
development mode (no TWILIO_ACCOUNT_SID) it uses the development pepper, as ``botkit run`` does.

Numbers are only ever printed masked: the ledger never stored them, so it cannot print them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

import click
from redis.exceptions import RedisError

from botkit.cli.commands import output_option, run_command
from botkit.compliance.hashing import NumberHasher, normalize_number
from botkit.compliance.ledger.keys import ConsentShards
from botkit.compliance.ledger.protocol import (
    GLOBAL_SCOPE,
    SOURCE_OPERATOR,
    ConsentLedger,
    normalize_scope,
)
from botkit.compliance.ledger.redis import RedisConsentLedger
from botkit.errors import ConfigError
from botkit.runtime.redis import connect
from botkit.settings import load_settings

PEPPER_ENV = "BOTKIT_CONSENT_PEPPER"


@asynccontextmanager
async def open_ledger() -> AsyncIterator[ConsentLedger]:
    """The shared Redis ledger from REDIS_URL and the pepper; Redis errors become one line."""
    settings = load_settings()
    if settings.redis_url is None:
        raise ConfigError(
            "REDIS_URL is not set: opt-outs live in Redis (without it each bot process keeps "
            "its own ledger in memory, which this command cannot reach)"
        )
    try:
        # The same pepper `botkit run` hashes with: the development one without an account.
        hasher = NumberHasher(settings.pepper())
    except ValueError as exc:
        raise ConfigError(f"{PEPPER_ENV}: {exc}") from None
    # The bots' own client kind (cluster, Sentinel) and shards, whose copies a change reaches.
    redis = await connect(settings)
    try:
        yield RedisConsentLedger(redis, hasher, ConsentShards(settings.shards))
    except RedisError as exc:
        raise ConfigError(f"Redis at REDIS_URL failed: {exc}") from None
    finally:
        await redis.aclose()


def _run(work: Callable[[ConsentLedger], Awaitable[None]]) -> None:
    async def main() -> None:
        async with open_ledger() as ledger:
            await work(ledger)

    run_command(main())


def _scope_option(_: click.Context, __: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_scope(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _number_argument(_: click.Context, __: click.Parameter, value: str) -> str:
    try:
        return normalize_number(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _target(scope: str | None, everywhere: bool) -> str:
    if everywhere and scope is not None:
        raise click.UsageError("give --scope or --global, not both")
    if everywhere:
        return GLOBAL_SCOPE
    if scope is None:
        raise click.UsageError("give --scope SENDER|MG_SID, or --global for every sender")
    return scope


def _describe(scope: str) -> str:
    return "every sender" if scope == GLOBAL_SCOPE else scope


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        click.echo("  ".join(cells).rstrip())


SCOPE_HELP = "A sender (+1..., whatsapp:+1..., short code), a service SID (MG...) or '*' (global)."


@click.group("optout")
def optout() -> None:
    """List, add, remove and export opt-outs (needs REDIS_URL, and BOTKIT_CONSENT_PEPPER with a
    Twilio account)."""


@optout.command("list")
@click.option("--scope", callback=_scope_option, help="Only opt-outs of this scope. " + SCOPE_HELP)
def list_optouts(scope: str | None) -> None:
    """Standing opt-outs, oldest first. Numbers are masked; HASH identifies them."""

    async def work(ledger: ConsentLedger) -> None:
        records = await ledger.entries(scope)
        if not records:
            click.echo("no opt-outs" + (f" for {scope}" if scope else ""))
            return
        rows = [
            (
                r.masked,
                r.scope,
                r.at.isoformat(timespec="seconds"),
                r.keyword or "-",
                r.source,
                r.number_hash[:16],
            )
            for r in records
        ]
        _table(("NUMBER", "SCOPE", "SINCE", "KEYWORD", "SOURCE", "HASH"), rows)

    _run(work)


@optout.command()
@click.argument("number", callback=_number_argument)
@click.option("--scope", callback=_scope_option, help=SCOPE_HELP)
@click.option("--global", "everywhere", is_flag=True, help="Opt out of every sender.")
@click.option("--source", default=SOURCE_OPERATOR, show_default=True, help="Audit-trail source.")
def add(number: str, scope: str | None, everywhere: bool, source: str) -> None:
    """Opt NUMBER out of a scope, as if it had texted STOP there."""
    _change(
        number,
        _target(scope, everywhere),
        lambda ledger: ledger.opt_out,
        source,
        changed="opted out {masked} from {scope}",
        unchanged="{masked} was already opted out of {scope}; recorded anyway",
    )


@optout.command()
@click.argument("number", callback=_number_argument)
@click.option("--scope", callback=_scope_option, help=SCOPE_HELP)
@click.option("--global", "everywhere", is_flag=True, help="Lift a global (STOPALL) opt-out.")
@click.option("--source", default=SOURCE_OPERATOR, show_default=True, help="Audit-trail source.")
def remove(number: str, scope: str | None, everywhere: bool, source: str) -> None:
    """Opt NUMBER back in to a scope, as if it had texted START there.

    Only do this on the person's request: the audit trail records who did it.
    """
    _change(
        number,
        _target(scope, everywhere),
        lambda ledger: ledger.opt_in,
        source,
        changed="opted {masked} back in to {scope}",
        unchanged="{masked} was not opted out of {scope}; recorded anyway",
    )


def _change(
    number: str,
    target: str,
    change: Callable[[ConsentLedger], Callable[..., Awaitable[bool]]],
    source: str,
    *,
    changed: str,
    unchanged: str,
) -> None:
    """Record an operator's opt-out or opt-in in the ledger (audited like a keyword) and say
    whether it changed anything."""

    async def work(ledger: ConsentLedger) -> None:
        done = await change(ledger)(number, target, keyword=None, source=source)
        text = changed if done else unchanged
        click.echo(text.format(masked=ledger.hasher.mask(number), scope=_describe(target)))

    _run(work)


@optout.command()
@click.argument("number", callback=_number_argument)
def history(number: str) -> None:
    """NUMBER's audit trail, oldest first."""

    async def work(ledger: ConsentLedger) -> None:
        events = await ledger.history(number)
        if not events:
            click.echo(f"no audit trail for {ledger.hasher.mask(number)}")
            return
        rows = [
            (
                str(e.seq),
                e.at.isoformat(timespec="seconds"),
                e.action,
                e.scope,
                e.keyword or "-",
                e.source,
            )
            for e in events
        ]
        _table(("SEQ", "AT", "ACTION", "SCOPE", "KEYWORD", "SOURCE"), rows)

    _run(work)


@optout.command()
@click.option("--scope", callback=_scope_option, help="Only this scope. " + SCOPE_HELP)
@click.option("--history", "with_history", is_flag=True, help="Every audit event instead.")
@output_option
def export(scope: str | None, with_history: bool, output: str) -> None:
    """Write standing opt-outs (or the whole audit trail) as JSON lines."""
    # Lazy: a command that fails before its first row (no REDIS_URL) leaves no file behind.
    sink = click.open_file(output, "w", encoding="utf-8", lazy=True)

    async def work(ledger: ConsentLedger) -> None:
        count = 0
        async for row in ledger.export(scope, history=with_history):
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
        sink.write("")  # opens the file even when there is nothing to export
        sink.flush()
        if output != "-":
            click.echo(f"wrote {count} rows to {output}", err=True)

    try:
        _run(work)
    finally:
        sink.close()
