"""``botkit messages``: the messages an account sent and received, as Twilio records them.

It asks Twilio (or the sandbox at BOTKIT_TWILIO_BASE_URL) through the official SDK, one page of
``--page-size`` at a time, following Twilio's own next-page links rather than computing
offsets, and stops as soon as ``--limit`` rows are in: an account may hold millions of
messages, and an operator asking "what did we send to this number?" wants the newest few.
Filters are Twilio's (To, From, DateSent>), applied by Twilio, so only matching pages travel.

Numbers are printed in full: this is the operator's own account, and they filter by them.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import click
from twilio.base.exceptions import TwilioException, TwilioRestException

from botkit.errors import BotkitError, ConfigError
from botkit.runtime.twilio import twilio_client
from botkit.settings import Settings, load_settings
from botkit.twilio.address import parse_address

BODY_WIDTH = 40
HEADER = ("DATE (UTC)", "DIR", "STATUS", "FROM", "TO", "BODY", "SID")
_DIRECTIONS = {"inbound": "in", "outbound-api": "out", "outbound-reply": "reply"}


@dataclass(frozen=True)
class Listing:
    """The messages found, newest first, and whether Twilio has more beyond the limit."""

    messages: list[Any]
    more: bool


@dataclass(frozen=True)
class Query:
    to: str | None
    from_: str | None
    since: datetime | None
    limit: int
    page_size: int

    def filters(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.to:
            found["to"] = self.to
        if self.from_:
            found["from_"] = self.from_
        if self.since:
            found["date_sent_after"] = self.since
        return found


async def fetch(client: Any, query: Query) -> Listing:
    """Walk Twilio's pages until the limit (0: none) is reached or the pages end."""
    size = min(query.page_size, query.limit) if query.limit else query.page_size
    page = await client.messages.page_async(page_size=size, **query.filters())
    found: list[Any] = []
    while page is not None:
        for record in page:
            if query.limit and len(found) == query.limit:
                return Listing(found, more=True)
            found.append(record)
        if query.limit and len(found) == query.limit:
            return Listing(found, more=page.next_page_url is not None)
        page = await page.next_page_async()
    return Listing(found, more=False)


def checked_settings() -> Settings:
    """The settings, if they name a Twilio to list from: an account, or a sandbox's
    BOTKIT_TWILIO_BASE_URL (its development account is then used, as ``botkit run`` does)."""
    settings = load_settings()
    if settings.development and settings.twilio_base_url is None:
        raise ConfigError(
            "TWILIO_ACCOUNT_SID is not set: set it and TWILIO_AUTH_TOKEN to list your "
            "account's messages (or BOTKIT_TWILIO_BASE_URL to list a sandbox's)"
        )
    return settings


async def list_messages(query: Query) -> Listing:
    settings = checked_settings()
    client = twilio_client(settings)
    try:
        return await fetch(client, query)
    except TwilioRestException as exc:
        raise BotkitError(_refusal(exc.status, exc.code, exc.msg)) from None
    except TwilioException as exc:
        raise BotkitError(_page_error(exc)) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        where = settings.twilio_base_url or "https://api.twilio.com"
        raise BotkitError(f"cannot reach Twilio at {where}: {exc or type(exc).__name__}") from None
    finally:
        await client.http_client.close()


def _refusal(status: object, code: object, message: object) -> str:
    return f"Twilio refused the request (HTTP {status}, code {code}): {message}"


def _page_error(exc: TwilioException) -> str:
    """The SDK reports a failed list page as TwilioException("Unable to fetch page", response),
    not as TwilioRestException: dig Twilio's error out of the response."""
    response: Any = exc.args[1] if len(exc.args) > 1 else None
    try:
        error = json.loads(response.text)
        return _refusal(response.status_code, error["code"], error["message"])
    except (AttributeError, TypeError, ValueError, KeyError):
        return f"Twilio answered something unexpected: {exc}"


def row(message: Any) -> tuple[str, ...]:
    moment = message.date_sent or message.date_created
    direction = str(message.direction or "")
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else "-",
        _DIRECTIONS.get(direction, direction or "-"),
        str(message.status or "-"),
        str(message.from_ or "-"),
        str(message.to or "-"),
        _body(str(message.body or ""), str(message.num_media or "0")),
        str(message.sid),
    )


def _body(body: str, num_media: str) -> str:
    text = re.sub(r"\s+", " ", body).strip()
    if not text and num_media not in ("", "0"):
        return f"[{num_media} media]"
    if len(text) > BODY_WIDTH:
        return text[: BODY_WIDTH - 3] + "..."
    return text


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Columns as wide as their widest cell, two spaces apart, no trailing blanks."""
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [HEADER, *rows]
    ]


def _address(_: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return str(parse_address(value))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("messages")
@click.option(
    "--to", callback=_address, help="Only messages to this address (+1..., whatsapp:+1...).",
)
@click.option("--from", "from_", callback=_address, help="Only messages from this address.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only messages sent on or after this day (UTC), YYYY-MM-DD.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Show at most this many messages, newest first; 0 for all.",
)
@click.option(
    "--page-size",
    type=click.IntRange(1, 1000),
    default=50,
    show_default=True,
    help="Messages fetched per request to Twilio.",
)
def messages(
    to: str | None, from_: str | None, since: datetime | None, limit: int, page_size: int
) -> None:
    """List sent and received messages, newest first (needs TWILIO_ACCOUNT_SID)."""
    query = Query(
        to=to,
        from_=from_,
        since=since.replace(tzinfo=UTC) if since else None,
        limit=limit,
        page_size=page_size,
    )
    try:
        listing = asyncio.run(list_messages(query))
    except BotkitError as exc:
        click.secho(f"botkit: {exc}", fg="red", err=True)
        sys.exit(2)
    if not listing.messages:
        click.echo("no messages")
        return
    for line in table([row(m) for m in listing.messages]):
        click.echo(line)
    if listing.more:
        click.echo(
            f"(the newest {len(listing.messages)}; there are more: raise --limit, or 0 for all)",
            err=True,
        )
