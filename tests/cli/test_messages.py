"""``botkit messages``: Twilio's message list through the SDK, paged, filtered, as a table.

Messages are created in an embedded sandbox (outbound through the SDK, inbound from a sandbox
phone) and the command runs with click's CliRunner, configured from the environment like an
operator's shell. The command calls asyncio.run, so it runs in a thread while the sandbox keeps
serving on the test's event loop. Requests are recorded at the SDK's http client, so paging is
judged by what actually went over the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import aiohttp
import pytest
from click.testing import CliRunner, Result

from botkit.cli.main import main
from botkit.cli.messages import HEADER, messages
from botkit.twilio.client import RewritingAsyncHttpClient, create_async_client
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN
from tests.support.sandbox_twilio import SandboxTwilio
from tests.support.webhooks import BOT_NUMBER, USER

OTHER = "+15550004444"


@dataclass
class Cli:
    twilio: SandboxTwilio
    requests: list[str]

    async def run(self, *args: str) -> Result:
        self.requests.clear()
        return await asyncio.to_thread(CliRunner().invoke, messages, list(args))

    async def rows(self, *args: str) -> list[list[str]]:
        """The table's rows (header checked and dropped), split on its column gaps."""
        result = await self.run(*args)
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0].split() == " ".join(HEADER).split()
        return [_cells(line, lines[0]) for line in lines[1:]]

    def page_requests(self) -> list[dict[str, list[str]]]:
        return [parse_qs(urlparse(url).query) for url in self.requests if "Messages.json" in url]


def _cells(line: str, header: str) -> list[str]:
    """Cut a row at the header's column starts (columns are padded to a common width)."""
    starts = [header.index(name) for name in HEADER]
    bounds = [*starts[1:], None]
    return [line[start:end].strip() for start, end in zip(starts, bounds, strict=True)]


@pytest.fixture
async def cli(
    twilio: SandboxTwilio, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Cli]:
    for name in ("REDIS_URL", "BOTKIT_PUBLIC_URL", "BOTKIT_MESSAGING_SERVICE_SID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("BOTKIT_TWILIO_BASE_URL", twilio.base_url)
    requests: list[str] = []
    original = RewritingAsyncHttpClient.request

    async def recording(
        self: Any, method: str, url: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        query = urlencode(params or {})
        requests.append(f"{url}{'&' if '?' in url else '?'}{query}" if query else url)
        return await original(self, method, url, params=params, **kwargs)

    monkeypatch.setattr(RewritingAsyncHttpClient, "request", recording)
    yield Cli(twilio, requests)


async def send(twilio: SandboxTwilio, to: str, body: str, **extra: Any) -> str:
    client = create_async_client(ACCOUNT_SID, AUTH_TOKEN, twilio.base_url)
    try:
        message = await client.messages.create_async(to=to, from_=BOT_NUMBER, body=body, **extra)
    finally:
        await client.http_client.close()
    return str(message.sid)


async def text_the_bot(twilio: SandboxTwilio, sender: str, body: str) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{twilio.base_url}/sandbox/phones/{sender}/messages"
        async with session.post(url, json={"to": BOT_NUMBER, "body": body}) as response:
            assert response.status == 201, await response.text()


@pytest.fixture
async def history(cli: Cli) -> list[str]:
    """Nine messages, oldest first: 5 to USER, 2 from USER, 2 to OTHER. Returns their bodies."""
    bodies = []
    for index in range(5):
        bodies.append(f"out {index}")
        await send(cli.twilio, USER, bodies[-1])
    for index in range(2):
        bodies.append(f"in {index}")
        await text_the_bot(cli.twilio, USER, bodies[-1])
    for index in range(2):
        bodies.append(f"other {index}")
        await send(cli.twilio, OTHER, bodies[-1])
    await cli.twilio.sandbox.settle()
    return bodies


async def test_lists_sent_and_received_newest_first(cli: Cli, history: list[str]) -> None:
    rows = await cli.rows()
    assert [r[5] for r in rows] == list(reversed(history))
    by_body = {r[5]: r for r in rows}
    date, direction, status, sender, recipient, _, sid = by_body["out 0"]
    assert (direction, status, sender, recipient) == ("out", "delivered", BOT_NUMBER, USER)
    assert sid.startswith("SM") and len(sid) == 34
    assert datetime.strptime(date, "%Y-%m-%d %H:%M:%S").date() == datetime.now(UTC).date()
    assert by_body["in 1"][1:5] == ["in", "received", USER, BOT_NUMBER]
    assert len(cli.page_requests()) == 1


async def test_filters_by_to_and_from(cli: Cli, history: list[str]) -> None:
    rows = await cli.rows("--to", OTHER)
    assert [r[5] for r in rows] == ["other 1", "other 0"]
    assert cli.page_requests()[0]["To"] == [OTHER]
    rows = await cli.rows("--from", USER)
    assert [r[5] for r in rows] == ["in 1", "in 0"]
    rows = await cli.rows("--to", USER, "--from", BOT_NUMBER)
    assert [r[5] for r in rows] == [f"out {i}" for i in reversed(range(5))]


async def test_since_filters_by_the_day_sent(cli: Cli, history: list[str]) -> None:
    long_ago = datetime.now(UTC) - timedelta(days=3)
    for record in cli.twilio.sandbox.state.messages.values():
        if record.body in ("out 0", "out 1", "in 0"):
            record.date_sent = long_ago
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    rows = await cli.rows("--since", yesterday)
    assert {r[5] for r in rows} == set(history) - {"out 0", "out 1", "in 0"}
    assert cli.page_requests()[0]["DateSent>"] == [f"{yesterday}T00:00:00Z"]
    rows = await cli.rows("--since", long_ago.strftime("%Y-%m-%d"))
    assert len(rows) == len(history)


async def test_follows_twilios_pages(cli: Cli, history: list[str]) -> None:
    rows = await cli.rows("--page-size", "2", "--limit", "0")
    assert [r[5] for r in rows] == list(reversed(history))
    pages = cli.page_requests()
    assert len(pages) == 5
    assert all(page["PageSize"] == ["2"] for page in pages)
    assert "PageToken" not in pages[0]
    assert all(page["PageToken"][0].startswith("PA") for page in pages[1:])


async def test_limit_stops_early_and_says_there_is_more(cli: Cli, history: list[str]) -> None:
    result = await cli.run("--page-size", "2", "--limit", "3")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1 + 3
    assert "there are more" in result.stderr
    assert len(cli.page_requests()) == 2


async def test_a_limit_smaller_than_the_page_size_asks_for_just_that(
    cli: Cli, history: list[str]
) -> None:
    result = await cli.run("--limit", "4")
    assert len(result.stdout.splitlines()) == 1 + 4
    assert cli.page_requests()[0]["PageSize"] == ["4"]
    assert "there are more" in result.stderr


async def test_an_exact_limit_has_nothing_more(cli: Cli, history: list[str]) -> None:
    result = await cli.run("--limit", str(len(history)))
    assert len(result.stdout.splitlines()) == 1 + len(history)
    assert result.stderr == ""


async def test_bodies_are_one_short_line(cli: Cli) -> None:
    await send(cli.twilio, USER, "first line\nsecond line " + "x" * 60)
    await send(cli.twilio, USER, "", media_url=["https://example.com/cat.png"])
    rows = await cli.rows()
    assert rows[0][5] == "[1 media]"
    assert rows[1][5] == ("first line second line " + "x" * 60)[:37] + "..."


async def test_no_messages(cli: Cli) -> None:
    result = await cli.run("--to", OTHER)
    assert result.exit_code == 0
    assert result.stdout == "no messages\n"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--to", "12ab"], "Invalid value for '--to'"),
        (["--from", "sms:+15550001111"], "Invalid value for '--from'"),
        (["--since", "yesterday"], "Invalid value for '--since'"),
        (["--page-size", "0"], "Invalid value for '--page-size'"),
        (["--page-size", "1001"], "Invalid value for '--page-size'"),
        (["--limit", "-1"], "Invalid value for '--limit'"),
    ],
)
async def test_bad_options_are_usage_errors(cli: Cli, args: list[str], complaint: str) -> None:
    result = await cli.run(*args)
    assert result.exit_code == 2
    assert complaint in result.stderr
    assert cli.requests == []


async def test_wrong_credentials_are_one_line(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-token")
    result = await cli.run()
    assert result.exit_code == 2
    assert result.stderr == (
        "botkit: Twilio refused the request (HTTP 401, code 20003): "
        "Authentication Error - invalid username\n"
    )


async def test_unreachable_twilio_is_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOTKIT_TWILIO_BASE_URL", "http://127.0.0.1:9")
    result = await cli.run()
    assert result.exit_code == 2
    assert result.stderr.startswith("botkit: cannot reach Twilio at http://127.0.0.1:9: ")
    assert result.stderr.count("\n") == 1


async def test_without_an_account_it_says_what_to_set(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID")
    monkeypatch.delenv("BOTKIT_TWILIO_BASE_URL")
    result = await cli.run()
    assert result.exit_code == 2
    assert result.stderr.startswith("botkit: TWILIO_ACCOUNT_SID is not set")
    assert cli.requests == []


def test_botkit_has_the_command() -> None:
    assert main.get_command(None, "messages") is messages  # type: ignore[arg-type]
