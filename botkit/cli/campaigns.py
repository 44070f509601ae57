"""``botkit broadcast``, ``botkit send`` and ``botkit campaigns``: proactive messages from the
command line, to many people or to one, and following a campaign as it goes.

They need REDIS_URL: a campaign is sent by the running bot's processes (``botkit run`` and
``botkit worker`` feed and send it), which share only Redis with this command; a development bot
without Redis keeps its queue in its own memory, where no other command can reach it (use
``bot.broadcast`` from the bot then).

``broadcast`` reads the CSV, reports each bad row with its line number and adds the rest, with a
live progress bar; run again with the same ``--id`` after a crash, it continues where it stopped
and adds nobody twice. ``--follow`` (and ``campaigns show --follow``) shows the sending as it
goes, until the campaign is done or Ctrl-C.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from botkit.campaigns.audience import read_audience
from botkit.campaigns.model import COUNTS, Campaign, Content, State
from botkit.campaigns.personalize import check_columns
from botkit.campaigns.service import Broadcasts, Imported
from botkit.cli.commands import run_command
from botkit.cli.worker import redis_stores
from botkit.errors import ConfigError
from botkit.outbound.messenger import From, Messenger, first_problem
from botkit.runtime.outbound import open_outbox

CAMPAIGNS_NEED_REDIS = (
    "campaigns are fed and sent by the running bot's processes, which share them through "
    "Redis (without REDIS_URL, call bot.broadcast from the bot itself)"
)
#: Bad rows printed in full; the rest are counted.
BAD_ROWS_SHOWN = 20
#: Seconds between refreshes of a followed campaign.
FOLLOW_EVERY = 0.5

console = Console(stderr=True)


class AwareTime(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 only
    """An ISO 8601 time with its UTC offset: a time without one would be read in whatever zone
    the machine running the command is set to, which is rarely the recipient's."""

    name = "TIME"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a time (e.g. 2027-03-01T09:00+01:00)", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} needs its UTC offset (e.g. {value}+01:00 or {value}Z)",
                      param, ctx)
        return moment


def _variables(pairs: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(
                f"{pair!r}: write KEY=VALUE, e.g. 1={{name}}", param_hint="--var"
            )
        found[key.strip()] = value
    return found


def _content(text: str | None, template: str | None, variables: Sequence[str]) -> Content:
    if variables and not template:
        raise ConfigError("--var fills a template's variables: give --template HX... with it")
    try:
        return Content(text=text, content_sid=template, variables=_variables(variables))
    except ValidationError as exc:
        raise ConfigError(first_problem(exc)) from None


@asynccontextmanager
async def _broadcasts(target: str) -> AsyncIterator[Broadcasts]:
    async with redis_stores(target, CAMPAIGNS_NEED_REDIS) as (_, stores, _bot):
        yield Broadcasts(stores.campaigns, stores.hasher)


def _lines(path: Path) -> int:
    """The CSV's rows, for the progress bar; read before anything is created, so that a file
    that is not UTF-8 is one line here, not a campaign left half imported."""
    lines = 0
    with path.open("rb") as handle:
        for lines, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigError(
                    f"{path.name} is not UTF-8 text (line {lines}): save it as UTF-8 "
                    '("CSV UTF-8" in Excel)'
                ) from None
    return max(0, lines - 1)


def _sender_options(func: Callable[..., None]) -> Callable[..., None]:
    """--from/--messaging-service, --text/--template and --var, shared by broadcast and send."""
    options = [
        click.option(
            "--from", "from_", help="Send from this number (whatsapp:+1... for WhatsApp)."
        ),
        click.option(
            "--messaging-service", "service", help="Send from this Messaging Service (MG...)."
        ),
        click.option("--text", help="The text; {column} is filled in from each CSV row."),
        click.option("--template", help="A Content template (HX...) instead of a text."),
        click.option(
            "--var",
            "variables",
            multiple=True,
            metavar="KEY=VALUE",
            help="A template variable; VALUE may name CSV columns, e.g. --var 1={name}.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option(
    "--csv",
    "csv_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The audience: a header row (phone and any columns), one recipient a row.",
)
@_sender_options
@click.option("--phone-column", help="The column with the numbers (default: phone, to, ...).")
@click.option("--name", default="", help="A name to know the campaign by.")
@click.option("--id", "campaign_id", help="The campaign's id; an existing one resumes its import.")
@click.option(
    "--valid-for", type=click.FloatRange(min=1), help="Seconds a message stays worth sending."
)
@click.option("--paused", is_flag=True, help="Add the audience but send nothing until resumed.")
@click.option("--follow", is_flag=True, help="Then show the sending live until it is done.")
def broadcast(
    target: str,
    csv_path: Path,
    from_: str | None,
    service: str | None,
    text: str | None,
    template: str | None,
    variables: tuple[str, ...],
    phone_column: str | None,
    name: str,
    campaign_id: str | None,
    valid_for: float | None,
    paused: bool,
    follow: bool,
) -> None:
    """Send a text or a template to everyone in a CSV, as a campaign (needs REDIS_URL)."""

    async def work() -> None:
        content = _content(text, template, variables)
        if not from_ and not service:
            raise ConfigError("say who sends: --from NUMBER or --messaging-service MG...")
        try:
            campaign = Campaign(
                **({"id": campaign_id} if campaign_id else {}),
                name=name or csv_path.stem,
                content=content,
                from_=from_,
                messaging_service_sid=service,
                valid_for=valid_for,
            )
        except ValidationError as exc:
            raise ConfigError(first_problem(exc)) from None
        async with _broadcasts(target) as broadcasts:
            imported = await _import(broadcasts, campaign, csv_path, phone_column, paused)
            _print_import(imported)
            if follow:
                await _follow(broadcasts, imported.campaign.id)

    run_command(work())


async def _import(
    broadcasts: Broadcasts,
    campaign: Campaign,
    path: Path,
    phone_column: str | None,
    paused: bool,
) -> Imported:
    total = _lines(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        audience = read_audience(handle, phone_column)
        check_columns(campaign.content, audience.columns)  # before the bar: a clean error
        with Progress(
            TextColumn("queueing {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(campaign.id, total=total)

            def advanced(result: Imported) -> None:
                bar.update(task, completed=result.added + result.already + len(result.bad))

            return await broadcasts.start(campaign, audience, paused=paused, progress=advanced)


def _print_import(imported: Imported) -> None:
    for row in imported.bad[:BAD_ROWS_SHOWN]:
        click.echo(f"skipped {row}", err=True)
    if len(imported.bad) > BAD_ROWS_SHOWN:
        click.echo(f"... and {len(imported.bad) - BAD_ROWS_SHOWN} more rows skipped", err=True)
    campaign = imported.campaign
    resumed = f", {imported.already} already there" if imported.already else ""
    click.echo(
        f"campaign {campaign.id} {campaign.state}: {imported.added} recipients added{resumed}, "
        f"{imported.duplicates} duplicates, {len(imported.bad) - imported.duplicates} bad rows"
    )


async def _follow(broadcasts: Broadcasts, campaign_id: str) -> None:
    """A live bar of the campaign's recipients dealt with (sent or given up on, or skipped
    before queueing), until all are or the campaign is canceled (or Ctrl-C)."""
    # The counts come last and only when not 0: on an 80-column terminal the bar, the
    # recipients dealt with and the time must not be cut off by them.
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[detail]}"),
        console=console,
    ) as bar:
        task = bar.add_task(f"sending {campaign_id}", total=None, detail="")
        while True:
            report = await broadcasts.report(campaign_id)
            total, dealt = report.counts.get("recipients", 0), dealt_with(report.counts)
            bar.update(task, total=total, completed=dealt, detail=_detail(report.counts))
            if report.campaign.state == "canceled" or (
                report.campaign.state == "done" and dealt >= total
            ):
                return
            await asyncio.sleep(FOLLOW_EVERY)


def dealt_with(counts: dict[str, int]) -> int:
    """Recipients the campaign is through with: their message settled (sent or dead-lettered),
    skipped before it was queued (opted out), or taken as settled by a process whose counts
    were lost (``unaccounted``, see the feeder)."""
    return counts.get("settled", 0) + counts.get("skipped", 0) + counts.get("unaccounted", 0)


def _detail(counts: dict[str, int]) -> str:
    shown = ("sent", "delivered", "failed", "undelivered", "opted_out", "quiet_hours")
    return "  ".join(
        f"{name.replace('_', ' ')} {counts[name]}" for name in shown if counts.get(name)
    )


@click.command()
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option("--to", required=True, help="Who gets it: +1... or whatsapp:+1...")
@_sender_options
@click.option(
    "--at",
    type=AwareTime(),
    help="Send at this time (with its offset, e.g. 2027-03-01T09:00+01:00).",
)
def send(
    target: str,
    to: str,
    from_: str | None,
    service: str | None,
    text: str | None,
    template: str | None,
    variables: tuple[str, ...],
    at: datetime | None,
) -> None:
    """Send one message through the bot's outbound queue (needs REDIS_URL)."""

    async def work() -> None:
        content = _content(text, template, variables)
        async with redis_stores(target, CAMPAIGNS_NEED_REDIS) as (settings, stores, _bot):
            messenger = Messenger(
                open_outbox(stores, settings),
                From(messaging_service_sid=settings.messaging_service_sid),
            )
            handle = await messenger.send(
                to,
                content.text,
                content_sid=content.content_sid,
                content_variables=content.variables or None,
                from_=from_,
                messaging_service_sid=service,
                lane="bulk",
                send_at=at,
            )
            when = f" for {at.isoformat()}" if at else ""
            click.echo(f"queued{when}: job {handle.id}")

    run_command(work())


@click.group()
def campaigns() -> None:
    """List campaigns, follow one, pause, resume or cancel it (needs REDIS_URL)."""


@campaigns.command("list")
@click.argument("target", metavar="MODULE[:ATTR]")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def list_campaigns(target: str, limit: int) -> None:
    """The newest campaigns, with their counts."""

    async def work() -> None:
        async with _broadcasts(target) as broadcasts:
            found = await broadcasts.store.recent(limit)
            if not found:
                click.echo("no campaigns")
                return
            rows = [(c, (await broadcasts.report(c.id)).counts) for c in found]
            Console(width=200).print(listing(rows))

    run_command(work())


def listing(rows: Sequence[tuple[Campaign, Mapping[str, int]]]) -> Table:
    """``campaigns list``'s table. It fits 80 columns with six-digit counts: a long name is cut
    (``show`` has it whole, with the creation time)."""
    table = Table(box=None, pad_edge=False, collapse_padding=True, padding=(0, 1))
    table.add_column("ID", no_wrap=True)
    table.add_column("NAME", no_wrap=True, overflow="ellipsis", max_width=11)
    table.add_column("STATE", no_wrap=True)
    for header in LISTED.values():
        table.add_column(header, no_wrap=True, justify="right")
    for campaign, counts in rows:
        table.add_row(
            campaign.id,
            campaign.name,
            campaign.state,
            *(str(counts.get(name, 0)) for name in LISTED),
        )
    return table


#: The counts ``campaigns list`` shows (``show`` shows them all), with their headers.
LISTED = {
    "recipients": "RCPTS",
    "queued": "QUEUED",
    "sent": "SENT",
    "delivered": "DELIV.",
    "failed": "FAILED",
    "opted_out": "OPT-OUT",
}


@campaigns.command("show")
@click.argument("target", metavar="MODULE[:ATTR]")
@click.argument("campaign_id")
@click.option("--follow", is_flag=True, help="Show the sending live until it is done.")
def show(target: str, campaign_id: str, follow: bool) -> None:
    """One campaign: its state and every count."""

    async def work() -> None:
        async with _broadcasts(target) as broadcasts:
            report = await broadcasts.report(campaign_id)
            campaign = report.campaign
            click.echo(f"campaign {campaign.id} ({campaign.name or 'no name'}): {campaign.state}")
            click.echo(f"from {campaign.sender}, created {_when(campaign.created)} UTC")
            table = Table("COUNT", "N", box=None)
            for name in COUNTS:
                table.add_row(name.replace("_", " "), str(report.counts.get(name, 0)))
            table.add_row("left to feed", str(report.remaining))
            Console(width=120).print(table)
            if follow:
                await _follow(broadcasts, campaign_id)

    run_command(work())


def _steer_command(name: str, state: State, doc: str) -> None:
    @campaigns.command(name, help=doc)
    @click.argument("target", metavar="MODULE[:ATTR]")
    @click.argument("campaign_id")
    def steer(target: str, campaign_id: str) -> None:
        async def work() -> None:
            async with _broadcasts(target) as broadcasts:
                campaign = await broadcasts.steer(campaign_id, state)
                click.echo(f"campaign {campaign.id} {campaign.state}")

        run_command(work())


_steer_command("pause", "paused", "Stop feeding a campaign (seconds of it already in line go).")
_steer_command("resume", "sending", "Feed a paused campaign again.")
_steer_command(
    "cancel", "canceled", "End a campaign for good: its remaining recipients are dropped."
)


def _when(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")
