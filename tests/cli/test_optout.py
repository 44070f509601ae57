"""``botkit optout``: the operators' commands against a real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from redis.asyncio import Redis

from botkit.cli.optout import optout
from botkit.compliance.hashing import NumberHasher
from botkit.compliance.ledger.protocol import GLOBAL_SCOPE, ConsentLedger
from botkit.compliance.ledger.redis import RedisConsentLedger
from botkit.settings import DEVELOPMENT_PEPPER
from tests.support.redis_server import free_port

PEPPER = "cli-test-pepper-0123456789abcdef"
USER = "+15551230123"
USER_DIGITS = "5551230123"
OTHER_USER = "+447700900123"
SENDER = "+15550001111"
SERVICE = "MG" + "b" * 32


@pytest.fixture
def run(clean_redis: str) -> Callable[..., Result]:
    """run(*args, env=...) invokes ``botkit optout`` with REDIS_URL and the pepper set."""

    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        full_env: dict[str, str | None] = {
            "REDIS_URL": clean_redis,
            "BOTKIT_CONSENT_PEPPER": PEPPER,
        }
        full_env.update(env or {})
        return CliRunner(env=full_env).invoke(optout, list(args))

    return invoke


def with_ledger(url: str, work: Callable[[ConsentLedger], Awaitable[Any]]) -> Any:
    """Run work against the same ledger a bot process would use."""

    async def main() -> Any:
        redis = Redis.from_url(url)
        try:
            return await work(RedisConsentLedger(redis, NumberHasher(PEPPER)))
        finally:
            await redis.aclose()

    return asyncio.run(main())


def test_add_list_and_remove(run: Callable[..., Result], clean_redis: str) -> None:
    added = run("add", USER, "--scope", SENDER)
    assert added.exit_code == 0, added.output
    assert added.output.strip() == f"opted out +1555***0123 from {SENDER}"
    assert with_ledger(clean_redis, lambda ledger: ledger.is_opted_out(USER, [SENDER]))

    listed = run("list")
    assert listed.exit_code == 0, listed.output
    header, row = listed.output.strip().splitlines()
    assert header.split() == ["NUMBER", "SCOPE", "SINCE", "KEYWORD", "SOURCE", "HASH"]
    assert row.split()[:2] == ["+1555***0123", SENDER]
    assert row.split()[3:5] == ["-", "operator"]
    assert USER_DIGITS not in listed.output

    removed = run("remove", USER, "--scope", SENDER)
    assert removed.exit_code == 0, removed.output
    assert removed.output.strip() == f"opted +1555***0123 back in to {SENDER}"
    assert not with_ledger(clean_redis, lambda ledger: ledger.is_opted_out(USER, [SENDER]))
    assert run("list").output.strip() == "no opt-outs"


def test_list_shows_keyword_opt_outs_and_filters_by_scope(
    run: Callable[..., Result], clean_redis: str
) -> None:
    async def seed(ledger: ConsentLedger) -> None:
        await ledger.opt_out(USER, SENDER, keyword="STOP", source="keyword")
        await ledger.opt_out(OTHER_USER, SERVICE, keyword=None, source="twilio-21610")

    with_ledger(clean_redis, seed)
    listed = run("list")
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3
    assert lines[1].split()[3:5] == ["STOP", "keyword"]
    assert lines[2].split()[:2] == ["+4477***0123", SERVICE]
    only_service = run("list", "--scope", SERVICE).output.strip().splitlines()
    assert len(only_service) == 2 and SERVICE in only_service[1]
    assert run("list", "--scope", "+15559990000").output.strip() == "no opt-outs for +15559990000"


def test_global_opt_out(run: Callable[..., Result], clean_redis: str) -> None:
    added = run("add", "whatsapp:" + USER, "--global")
    assert added.output.strip() == "opted out +1555***0123 from every sender"
    assert with_ledger(clean_redis, lambda ledger: ledger.is_opted_out(USER, [SERVICE]))
    assert run("list").output.strip().splitlines()[1].split()[1] == GLOBAL_SCOPE
    assert run("remove", USER, "--scope", "*").exit_code == 0
    assert not with_ledger(clean_redis, lambda ledger: ledger.is_opted_out(USER, [SERVICE]))


def test_repeats_are_reported_and_still_audited(run: Callable[..., Result]) -> None:
    run("add", USER, "--scope", SENDER)
    again = run("add", USER, "--scope", SENDER)
    assert again.exit_code == 0
    assert "was already opted out of" in again.output
    absent = run("remove", USER, "--scope", SERVICE)
    assert "was not opted out of" in absent.output
    trail = run("history", USER).output.strip().splitlines()
    assert [line.split()[2] for line in trail[1:]] == ["opt_out", "opt_out", "opt_in"]
    assert trail[0].split() == ["SEQ", "AT", "ACTION", "SCOPE", "KEYWORD", "SOURCE"]


def test_history_records_the_operator_source(run: Callable[..., Result]) -> None:
    run("add", USER, "--scope", SENDER, "--source", "operator:alice")
    (row,) = run("history", USER).output.strip().splitlines()[1:]
    assert row.split()[2:] == ["opt_out", SENDER, "-", "operator:alice"]
    assert run("history", OTHER_USER).output.strip() == "no audit trail for +4477***0123"


def test_export_writes_json_lines_to_stdout(run: Callable[..., Result], clean_redis: str) -> None:
    async def seed(ledger: ConsentLedger) -> None:
        await ledger.opt_out(USER, SENDER, keyword="STOP", source="keyword")
        await ledger.opt_out(OTHER_USER, GLOBAL_SCOPE, keyword="STOPALL", source="keyword")
        await ledger.opt_in(USER, SENDER, keyword="START", source="keyword")
        await ledger.opt_out(USER, SERVICE, keyword="STOP", source="keyword")

    with_ledger(clean_redis, seed)
    result = run("export")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["masked"], r["scope"], r["keyword"]) for r in rows] == [
        ("+4477***0123", GLOBAL_SCOPE, "STOPALL"),
        ("+1555***0123", SERVICE, "STOP"),
    ]
    assert USER_DIGITS not in result.stdout

    history = [json.loads(line) for line in run("export", "--history").stdout.splitlines()]
    assert len(history) == 4
    assert {r["action"] for r in history} == {"opt_out", "opt_in"}
    scoped = run("export", "--history", "--scope", SENDER).stdout.splitlines()
    assert [json.loads(line)["action"] for line in scoped] == ["opt_out", "opt_in"]


def test_export_to_a_file(run: Callable[..., Result], tmp_path: Path) -> None:
    run("add", USER, "--scope", SENDER)
    run("add", OTHER_USER, "--global")
    target = tmp_path / "optouts.jsonl"
    result = run("export", "-o", str(target))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(rows) == 2 and {r["source"] for r in rows} == {"operator"}
    assert f"wrote 2 rows to {target}" in result.stderr
    assert result.stdout == ""

    empty = tmp_path / "none.jsonl"
    assert run("export", "--scope", SERVICE, "-o", str(empty)).exit_code == 0
    assert empty.read_text() == ""


def test_add_and_remove_need_a_scope(run: Callable[..., Result]) -> None:
    missing = run("add", USER)
    assert missing.exit_code == 2 and "--scope" in missing.output
    both = run("remove", USER, "--scope", SENDER, "--global")
    assert both.exit_code == 2 and "not both" in both.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "5551230123", "--scope", SENDER), "E.164"),
        (("add", USER, "--scope", "somewhere"), "Messaging Service SID"),
        (("list", "--scope", "MG12"), "Messaging Service SID"),
    ],
)
def test_bad_numbers_and_scopes_are_usage_errors(
    run: Callable[..., Result], args: tuple[str, ...], message: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_without_redis_url_it_says_so(run: Callable[..., Result], tmp_path: Path) -> None:
    result = run("list", env={"REDIS_URL": None})
    assert result.exit_code == 2
    assert "REDIS_URL is not set" in result.output
    assert "Traceback" not in result.output
    target = tmp_path / "out.jsonl"
    assert run("export", "-o", str(target), env={"REDIS_URL": None}).exit_code == 2
    assert not target.exists()


def test_with_an_account_and_without_a_pepper_it_says_so(run: Callable[..., Result]) -> None:
    account = {"BOTKIT_CONSENT_PEPPER": None, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32}
    result = run("add", USER, "--scope", SENDER, env=account)
    assert result.exit_code == 2
    assert "BOTKIT_CONSENT_PEPPER: required with a Twilio account" in result.output
    weak = run("list", env={"BOTKIT_CONSENT_PEPPER": "short"})
    assert weak.exit_code == 2
    assert "BOTKIT_CONSENT_PEPPER: the consent pepper must be at least 16" in weak.output


def test_another_pepper_does_not_find_the_number(run: Callable[..., Result]) -> None:
    run("add", USER, "--scope", SENDER)
    other = {"BOTKIT_CONSENT_PEPPER": "a-different-pepper-0123456789"}
    assert run("history", USER, env=other).output.strip() == "no audit trail for +1555***0123"


def test_unreachable_redis_is_one_line(run: Callable[..., Result]) -> None:
    result = run("list", env={"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    assert result.exit_code == 2
    assert "REDIS_URL: cannot reach Redis" in result.output
    assert "Traceback" not in result.output


def test_development_mode_uses_the_development_pepper_as_botkit_run_does(
    run: Callable[..., Result], clean_redis: str
) -> None:
    """Without TWILIO_ACCOUNT_SID, `botkit run` hashes with the development pepper: the
    command finds and records opt-outs in that same ledger, without asking for a pepper."""
    development = {"BOTKIT_CONSENT_PEPPER": None, "TWILIO_ACCOUNT_SID": None}

    async def opt_out_as_the_bot(ledger: ConsentLedger) -> None:
        await ledger.opt_out(USER, SENDER, keyword="STOP", source="keyword")

    def as_the_bot(work: Callable[[ConsentLedger], Awaitable[Any]]) -> Any:
        async def main() -> Any:
            redis = Redis.from_url(clean_redis)
            try:
                return await work(RedisConsentLedger(redis, NumberHasher(DEVELOPMENT_PEPPER)))
            finally:
                await redis.aclose()

        return asyncio.run(main())

    as_the_bot(opt_out_as_the_bot)
    listed = run("list", env=development)
    assert listed.exit_code == 0, listed.output
    assert "+1555***0123" in listed.output and SENDER in listed.output
    assert run("remove", USER, "--scope", SENDER, env=development).exit_code == 0
    assert run("list", env=development).output.strip() == "no opt-outs"
