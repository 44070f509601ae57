"""``botkit broadcast``, ``botkit send`` and ``botkit campaigns`` against a real Redis: bad rows
reported with their line numbers, an import run again adding nobody twice, steering, tables,
and one-line errors with exit status 2."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from botkit import Bot
from botkit.campaigns.model import Campaign, Content
from botkit.cli.campaigns import LISTED, listing
from botkit.cli.main import main
from botkit.runtime.stores import open_stores
from botkit.settings import Settings
from botkit.testing import Tester

PEPPER = "cli-campaign-pepper-0123456789"
BOT = "+15550002222"
TEMPLATE = "HX" + "a" * 32

CSV = """phone,name,city
+15550001111,Ann,Lisbon
+15550002323,Bob,Porto
555-0100,Nobody,Nowhere
+15550003333,Cat
+15550001111,Ann again,Lisbon
whatsapp:+15550004444,Dan,Faro
"""


@pytest.fixture
def run(clean_redis: str) -> Callable[..., Result]:
    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        full_env: dict[str, str | None] = {
            "REDIS_URL": clean_redis,
            "BOTKIT_CONSENT_PEPPER": PEPPER,
            "TWILIO_ACCOUNT_SID": None,
        }
        full_env.update(env or {})
        return CliRunner(env=full_env).invoke(main, list(args))

    return invoke


@pytest.fixture
def audience(tmp_path: Path) -> Path:
    path = tmp_path / "spring.csv"
    path.write_text(CSV)
    return path


def queued_in_redis(url: str, campaign_id: str) -> int:
    async def count() -> int:
        stores = await open_stores(Settings(redis_url=url, consent_pepper=PEPPER), "echo")
        try:
            return await stores.campaigns.remaining(campaign_id)
        finally:
            await stores.close()

    return asyncio.run(count())


def test_a_broadcast_reports_bad_rows_by_line_and_resumes_without_doubles(
    run: Callable[..., Result], audience: Path, clean_redis: str
) -> None:
    args = ["broadcast", "bots.echo", "--csv", str(audience), "--template", TEMPLATE,
            "--var", "1={name}", "--var", "2={city}", "--from", BOT, "--id", "spring",
            "--paused"]
    first = run(*args)
    assert first.exit_code == 0, first.output
    assert "skipped line 4: '555-0100' is not an E.164 number" in first.output
    assert "skipped line 5: 2 fields, but the header has 3" in first.output
    assert "skipped line 6: duplicate of line 2 (+15550001111)" in first.output
    assert first.output.strip().endswith(
        "campaign spring paused: 3 recipients added, 1 duplicates, 2 bad rows"
    )
    again = run(*args)  # as after a crash: the same import, run again
    assert "campaign spring paused: 0 recipients added, 3 already there" in again.output
    assert queued_in_redis(clean_redis, "spring") == 3

    shown = run("campaigns", "show", "bots.echo", "spring")
    assert shown.exit_code == 0, shown.output
    assert "campaign spring (spring): paused" in shown.output
    counted = {
        line.split()[0]: line.split()[1] for line in shown.output.splitlines()
        if line.split()[:1] in (["recipients"], ["duplicates"], ["invalid"])
    }
    assert counted == {"recipients": "3", "duplicates": "1", "invalid": "2"}  # once, not twice
    listed = run("campaigns", "list", "bots.echo")
    assert listed.output.split("\n")[1].split()[:3] == ["spring", "spring", "paused"]
    assert listed.output.split("\n")[0].split() == [
        "ID", "NAME", "STATE", "RCPTS", "QUEUED", "SENT", "DELIV.", "FAILED", "OPT-OUT"
    ]

    assert run("campaigns", "resume", "bots.echo", "spring").output == "campaign spring sending\n"
    assert run("campaigns", "cancel", "bots.echo", "spring").output == "campaign spring canceled\n"
    refused = run("campaigns", "resume", "bots.echo", "spring")
    assert (refused.exit_code, refused.output) == (
        2, "botkit: a canceled campaign cannot be resumed\n"
    )
    assert queued_in_redis(clean_redis, "spring") == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--text", "hi {nickname}"], "'hi {nickname}' uses nickname, which the audience has no "
         "column for (it has phone, name, city)"),
        (["--text", "hi", "--var", "1=x"], "--var fills a template's variables"),
        (["--template", "HX12"], "'HX12' is not a Content SID"),
        (["--text", "hi", "--template", TEMPLATE], "either a text or a template"),
        ([], "either a text or a template"),
        (["--text", "hi", "--id", "spring sale!"],
         "'spring sale!' is not a campaign id (letters, digits, - and _, at most 64)"),
    ],
)
def test_bad_broadcasts_are_one_line_errors(
    run: Callable[..., Result], audience: Path, args: list[str], error: str
) -> None:
    result = run("broadcast", "bots.echo", "--csv", str(audience), "--from", BOT, *args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and error in result.output, result.output


def test_broadcast_and_send_need_redis(run: Callable[..., Result], audience: Path) -> None:
    for args in (
        ["broadcast", "bots.echo", "--csv", str(audience), "--text", "hi", "--from", BOT],
        ["send", "bots.echo", "--to", "+15550001111", "--text", "hi", "--from", BOT],
    ):
        result = run(*args, env={"REDIS_URL": None})
        assert result.exit_code == 2
        assert result.output.startswith("botkit: REDIS_URL: required, campaigns are fed")


def test_send_queues_one_message(run: Callable[..., Result]) -> None:
    result = run("send", "bots.echo", "--to", "+15550001111", "--text", "hi", "--from", BOT,
                 "--at", "2030-01-01T09:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("queued for 2030-01-01T09:00:00+00:00: job ")
    bad = run("send", "bots.echo", "--to", "12", "--text", "hi", "--from", BOT)
    assert bad.exit_code == 2 and bad.output.startswith("botkit: cannot send to '12'")


@pytest.mark.parametrize(
    ("at", "error"),
    [
        ("tomorrow", "Invalid value for '--at': 'tomorrow' is not a time"),
        ("2030-01-01T09:00", "Invalid value for '--at': '2030-01-01T09:00' needs its UTC offset"),
    ],
)
def test_a_time_to_send_at_needs_its_offset(
    run: Callable[..., Result], at: str, error: str
) -> None:
    result = run("send", "bots.echo", "--to", "+15550001111", "--text", "hi", "--from", BOT,
                 "--at", at)
    assert result.exit_code == 2 and error in result.output, result.output
    good = run("send", "bots.echo", "--to", "+15550001111", "--text", "hi", "--from", BOT,
               "--at", "2030-01-01T09:00Z")
    assert good.output.startswith("queued for 2030-01-01T09:00:00+00:00: job "), good.output


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["send", "bots.echo", "--to", "+15550001111", "--text", "hi", "--from", "12"],
         "cannot send from '12'"),
        (["send", "bots.echo", "--to", "+15550001111", "--text", "hi",
          "--messaging-service", "MGxx"], "'MGxx' is not a Messaging Service SID"),
        (["broadcast", "bots.echo", "--text", "hi", "--from", "12"], "cannot send from '12'"),
        (["broadcast", "bots.echo", "--text", "hi", "--messaging-service", "MG12"],
         "'MG12' is not a Messaging Service SID"),
    ],
    ids=["send from a bad number", "send through a bad service", "broadcast from a bad number",
         "broadcast through a bad service"],
)
def test_a_bad_sender_is_one_line_and_nothing_is_queued(
    run: Callable[..., Result], audience: Path, clean_redis: str, args: list[str], error: str
) -> None:
    if args[0] == "broadcast":
        args = [*args, "--csv", str(audience), "--id", "bad-sender"]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and error in result.output, result.output
    assert queued_in_redis(clean_redis, "bad-sender") == 0


async def test_follow_shows_the_sending_live_until_the_campaign_is_done(
    clean_redis: str, audience: Path
) -> None:
    """``botkit broadcast --follow`` against the running bot (a Tester on the same Redis,
    under the echo bot's name, whose feeder and outbound worker send the campaign): the bar
    ends when every recipient is dealt with."""
    settings = {"consent_pepper": PEPPER}
    async with Tester(Bot("echo"), redis_url=clean_redis, settings=settings) as tester:
        runner = CliRunner(env={"REDIS_URL": clean_redis, "BOTKIT_CONSENT_PEPPER": PEPPER,
                                "TWILIO_ACCOUNT_SID": None})
        args = ["broadcast", "bots.echo", "--csv", str(audience), "--text", "Hi {name}",
                "--from", tester.bot_number, "--id", "followed", "--follow"]
        async with asyncio.timeout(30):
            result = await asyncio.to_thread(runner.invoke, main, args)
        assert result.exit_code == 0, result.output
        assert "campaign followed sending: 3 recipients added" in result.output
        # CliRunner's terminal is 80 columns wide: the bar, the count and the time all fit.
        [bar] = [line for line in result.output.splitlines() if "sending followed" in line]
        assert re.search(r"━+ 3/3 0:00:\d\d sent 2", bar), bar
        bodies = sorted(m.body for m in tester.sandbox.state.messages.values())
        assert bodies == ["Hi Ann", "Hi Bob"]
        # Dan is on WhatsApp, had not written and the echo bot has no template: not sent, and
        # counted as such.
        [letter] = await tester.runtime.stores.queue.dead_letters()
        assert (letter.job.message.from_, letter.reason) == (
            "whatsapp:" + tester.bot_number, "undeliverable"
        )
        assert (await tester.bot.campaign("followed")).counts["undeliverable"] == 1


def test_a_csv_that_is_not_utf8_is_one_line_naming_its_line(
    run: Callable[..., Result], tmp_path: Path, clean_redis: str
) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,name\n+15550001111,Ann\n+15550001112,René\n".encode("latin-1"))
    result = run("broadcast", "bots.echo", "--csv", str(latin), "--text", "hi {name}",
                 "--from", BOT, "--id", "latin")
    assert (result.exit_code, result.output) == (
        2, 'botkit: latin.csv is not UTF-8 text (line 3): save it as UTF-8 ("CSV UTF-8" in '
        "Excel)\n"
    )
    assert run("campaigns", "list", "bots.echo").output == "no campaigns\n"


def test_the_campaign_list_fits_an_80_column_terminal() -> None:
    # A long name and six-digit counts: the name is cut, nothing wraps.
    campaign = Campaign(
        id="c20261207-abc123", name="spring sale for every customer", content=Content(text="x"),
        state="canceled",
    )
    counts = {name: 100_000 for name in LISTED}
    out = io.StringIO()
    Console(width=200, file=out).print(listing([(campaign, counts)]))
    lines = out.getvalue().splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80, lines
    assert lines[1].split()[:3] == ["c20261207-abc123", "spring", "sal…"]
