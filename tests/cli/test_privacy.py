"""``botkit privacy export|erase|migrate`` and ``botkit deadletters list`` against a real Redis
holding what the support bot stored for a customer; bad input is one line and exit status 2."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from redis.asyncio import Redis

from botkit.cli.main import main
from botkit.compliance.hashing import NumberHasher
from botkit.handoff.history.redis import RedisHistoryStore
from botkit.handoff.notices import Notices
from botkit.handoff.store.protocol import Member, Roster
from botkit.handoff.store.redis import RedisHandoffStore
from botkit.outbound.job import Job, JobFactory
from botkit.outbound.limits.rates import RateTable
from botkit.outbound.message import OutboundMessage
from botkit.outbound.queue.protocol import Claim
from botkit.outbound.queue.redis import RedisOutboundQueue
from botkit.testing import Tester
from bots.support import build
from tests.bots.test_privacy import (
    AGENT,
    BODIES,
    CUSTOMER,
    MASKED,
    a_full_conversation,
    an_agent_at_work,
)
from tests.support.redis_server import free_port, start_redis, stop_redis
from tests.support.traces import redis_traces

#: The pepper the testing kit runs bots with: the CLI must hash numbers the same way.
PEPPER = "botkit-testing-pepper"


def seeded(url: str) -> None:
    """What a customer of the support bot leaves in Redis (tests/bots/test_privacy.py)."""

    async def talk() -> None:
        async with Tester(build(agents=["agent"]).bot, redis_url=url) as tester:
            await a_full_conversation(tester)

    asyncio.run(talk())


@pytest.fixture
def run(clean_redis: str) -> Callable[..., Result]:
    def invoke(*args: str, env: dict[str, str | None] | None = None) -> Result:
        full: dict[str, str | None] = {
            "REDIS_URL": clean_redis,
            "BOTKIT_CONSENT_PEPPER": PEPPER,
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "x" * 32,
            "BOTKIT_BOT": "bots.support:bot",
            "SUPPORT_AGENTS": "agent",
        }
        full.update(env or {})
        return CliRunner(env=full).invoke(main, list(args))

    return invoke


def one_line(result: Result) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_export_then_erase_then_export(run: Callable[..., Result], clean_redis: str) -> None:
    seeded(clean_redis)
    exported = run("privacy", "export", CUSTOMER)
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    assert document["sessions"] and document["conversations"]
    assert document["bot"]["export_person"]["tickets"][0]["summary"] == BODIES[0]

    erased = run("privacy", "erase", "whatsapp:+1 (555) 000-4567")  # as pasted
    assert erased.exit_code == 0, erased.output
    assert erased.stdout.startswith(f"erased {MASKED}:\n")
    assert "  bot:erase_person: 2\n" in erased.stdout
    assert "persistence: Redis keeps no AOF and no RDB snapshot" in erased.stdout
    again = run("privacy", "erase", CUSTOMER)
    assert again.exit_code == 0
    assert all(line.endswith(": 0") for line in again.stdout.splitlines()[1:-2])

    after = json.loads(run("privacy", "export", CUSTOMER).stdout)
    assert after["consent"] == document["consent"]
    assert not after["sessions"] and not after["bot"]["export_person"]["tickets"]
    assert len(after["erasures"]) == 2


def test_an_agents_handoff_records_are_exported_and_erased(
    run: Callable[..., Result], clean_redis: str
) -> None:
    """The phone number of an agent finds their presence, the conversation they hold and what
    they were told; the erase leaves their number nowhere in Redis."""

    async def work() -> None:
        async with Tester(build(agents=[AGENT]).bot, redis_url=clean_redis) as tester:
            await an_agent_at_work(tester)

    asyncio.run(work())
    as_agent = {"SUPPORT_AGENTS": AGENT}
    exported = run("privacy", "export", AGENT, env=as_agent)
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    (row,) = document["handoffs"]
    assert (row["role"], row["presence"], len(row["holding"])) == ("agent", "away", 1)
    assert any(r["thread"].startswith("agent:") for r in document["handoff_history"])

    erased = run("privacy", "erase", AGENT, env=as_agent)
    assert erased.exit_code == 0, erased.output
    assert "  handoffs: 2\n" in erased.stdout

    async def check() -> None:
        redis = Redis.from_url(clean_redis)
        assert await redis_traces(redis, [AGENT.lstrip("+")]) == []
        await redis.aclose()

    asyncio.run(check())


def test_export_writes_a_file(
    run: Callable[..., Result], clean_redis: str, tmp_path: Path
) -> None:
    target = tmp_path / "export.json"
    done = run("privacy", "export", CUSTOMER, "-o", str(target))
    assert done.exit_code == 0, done.output
    assert json.loads(target.read_text())["number"] == CUSTOMER


@pytest.mark.parametrize("command", ["export", "erase"])
def test_bad_input_is_one_line(run: Callable[..., Result], command: str) -> None:
    line = one_line(run("privacy", command, "call me maybe"))
    assert line == (
        "botkit: NUMBER: 'call me maybe' is not a phone number (E.164, like +15551230123, "
        "or whatsapp:+15551230123)"
    )
    line = one_line(run("privacy", command, CUSTOMER, env={"REDIS_URL": None}))
    assert line.startswith("botkit: REDIS_URL: required, since a person's data is in the shared")
    line = one_line(run("privacy", command, CUSTOMER, env={"BOTKIT_BOT": "no_such_module"}))
    assert "no_such_module" in line


def test_the_bot_is_required(run: Callable[..., Result]) -> None:
    done = run("privacy", "export", CUSTOMER, env={"BOTKIT_BOT": None})
    assert done.exit_code == 2 and "--bot" in done.output


def dead_letter(url: str, to: str) -> str:
    """A message to ``to`` buried with a permanent error; its job id."""

    async def bury() -> str:
        redis = Redis.from_url(url)
        queue = RedisOutboundQueue(redis, "support")
        jobs = JobFactory(RateTable(), NumberHasher(PEPPER))
        message = OutboundMessage(
            to=to, from_="+15550002222", body=BODIES[1], idempotency_key="dead-1"
        )
        job: Job = jobs.build(message, lane="reply")
        await queue.enqueue(job)
        claim = await queue.claim(5.0)
        assert isinstance(claim, Claim)
        await queue.bury(claim, "permanent", "21211 invalid To")
        await redis.aclose()
        return job.id

    return asyncio.run(bury())


def test_deadletters_list_masks_numbers_unless_revealed(
    run: Callable[..., Result], clean_redis: str
) -> None:
    dead_letter(clean_redis, CUSTOMER)
    masked = run("deadletters", "list", "bots.support:bot")
    assert masked.exit_code == 0, masked.output
    assert f"to {MASKED}" in masked.stdout and CUSTOMER not in masked.stdout
    revealed = run("deadletters", "list", "bots.support:bot", "--reveal")
    assert f"to {CUSTOMER}" in revealed.stdout


def test_migrate_moves_old_keys_to_pseudonyms(
    run: Callable[..., Result], clean_redis: str
) -> None:
    digest = NumberHasher(PEPPER).digest(CUSTOMER)

    async def old_layout() -> None:
        redis = Redis.from_url(clean_redis)
        tag = "{botkit:inbound:support}"
        key = f"support|sms|+15550002222|{CUSTOMER}"
        await redis.set(f"{tag}:session:{key}", '{"visits": 3}', px=60_000)
        await redis.set(f"{tag}:session-expires:{key}", repr(time.time() + 60), px=60_000)
        await redis.set(f"botkit:wa-window:whatsapp:+15550002222:whatsapp:{CUSTOMER}", "1", px=9000)
        await redis.hset("{support:conv:CH1}:who", f"whatsapp:{CUSTOMER}", "MB1")
        await redis.hset("{botkit:consent}:out:support:vt:+15550002222", CUSTOMER, "5")
        await redis.aclose()

    asyncio.run(old_layout())
    done = run("privacy", "migrate")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines() == [
        "sessions: 1 re-keyed",
        "whatsapp_windows: 1 re-keyed",
        "mirror_authors: 1 re-keyed",
        "vt_fields: 1 re-keyed",
        "handoff_held: 0 re-keyed",
        "handoff_presence: 0 re-keyed",
        "agent_notices: 0 re-keyed",
    ]
    assert run("privacy", "migrate").stdout.count(": 0 re-keyed") == 7  # idempotent

    async def check() -> None:
        redis = Redis.from_url(clean_redis)
        assert await redis_traces(redis, [CUSTOMER.lstrip("+")]) == []
        new = f"{{botkit:inbound:support}}:session:support|sms|+15550002222|{digest}"
        assert await redis.get(new) == b'{"visits": 3}'
        assert 0 < await redis.pttl(new) <= 60_000
        assert await redis.exists(f"botkit:wa-window:whatsapp:+15550002222:{digest}")
        assert await redis.hget("{support:conv:CH1}:who", digest) == b"MB1"
        await redis.aclose()

    asyncio.run(check())


def test_migrate_moves_agent_keys_to_pseudonyms(
    run: Callable[..., Result], clean_redis: str
) -> None:
    """An agent named by their number (and one by a chat identity) in the old handoff keys:
    their held sets, presence fields and notices move to their pseudonyms; the store then finds
    them there, and only the record of the conversation one holds still names them."""
    hasher = NumberHasher(PEPPER)
    tag = "{support:handoff}:"
    record = {
        "conversation_sid": "CH1",
        "mode": "agent",
        "agent": AGENT,
        "skill": "general",
        "queued_at": 1.0,
        "assigned_at": 2.0,
    }
    notice = {"at": 2.0, "kind": "notice", "role": "system", "author": AGENT, "text": "New."}

    async def old_layout() -> None:
        redis = Redis.from_url(clean_redis)
        await redis.set(tag + "rec:CH1", json.dumps(record), px=60_000)
        await redis.set(tag + "rec:CH2", json.dumps({**record, "conversation_sid": "CH2"}))
        await redis.sadd(tag + f"held:{AGENT}", "CH1", "CH9")  # CH9: long gone
        await redis.sadd(tag + "held:alice", "CH2")  # not hers (any more): not moved
        await redis.hset(tag + "presence", mapping={AGENT: "away", "alice": "offline"})
        thread = f"{{support:history:agent:{AGENT}}}"
        await redis.rpush(thread + ":log", json.dumps({**notice, "index": 1}))
        await redis.set(thread + ":seq", "1")
        await redis.pexpire(thread + ":log", 60_000)
        await redis.pexpire(thread + ":seq", 60_000)
        await redis.aclose()

    asyncio.run(old_layout())
    done = run("privacy", "migrate")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-3:] == [
        "handoff_held: 1 re-keyed",
        "handoff_presence: 2 re-keyed",
        "agent_notices: 1 re-keyed",
    ]
    assert run("privacy", "migrate").stdout.count(": 0 re-keyed") == 7  # idempotent

    async def check() -> None:
        redis = Redis.from_url(clean_redis)
        digits = AGENT.lstrip("+")
        assert sorted(await redis_traces(redis, [digits])) == [
            f"{tag}rec:CH1: {digits}",
            f"{tag}rec:CH2: {digits}",
        ]
        assert 0 < await redis.pttl(tag + "rec:CH1") <= 60_000  # its lifetime kept
        store = RedisHandoffStore(redis, hasher.pseudonym, prefix="support")
        team = Roster((Member(AGENT, ("general",), 1), Member("alice", ("general",), 1)))
        assert [r.conversation_sid for r in await store.holding(AGENT)] == ["CH1"]
        assert await store.presence(AGENT, team) == "away"
        assert await store.holding("alice") == []
        assert await store.presence("alice", team) == "offline"
        released = await store.release("CH1", team, 3.0, to_bot=False)
        assert released is not None and await store.holding(AGENT) == []
        notices = Notices(RedisHistoryStore(redis, prefix="support"), hasher.pseudonym)
        assert [(e.index, e.author, e.text) for e in await notices.of(AGENT)] == [(1, None, "New.")]
        thread = f"{{support:history:agent:{hasher.pseudonym(AGENT)}}}:log"
        assert 0 < await redis.pttl(thread) <= 60_000
        await redis.aclose()

    asyncio.run(check())


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A redis-server with an AOF and RDB snapshots in ``tmp_path``."""
    port = free_port()
    proc = start_redis(
        port, "--appendonly", "yes", "--save", "3600 1", "--dir", str(tmp_path),
        "--aof-use-rdb-preamble", "no",
    )
    try:
        yield f"redis://127.0.0.1:{port}/0", tmp_path
    finally:
        stop_redis(proc)


def persisted(directory: Path) -> bytes:
    return b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())


def test_an_erase_leaves_the_aof_and_rdb_files_too(
    run: Callable[..., Result], persistent_redis: tuple[str, Path]
) -> None:
    url, directory = persistent_redis
    seeded(url)
    assert BODIES[1].encode() in persisted(directory)  # the AOF holds every write

    erased = run("privacy", "erase", CUSTOMER, env={"REDIS_URL": url})
    assert erased.exit_code == 0, erased.output
    assert "persistence: AOF rewrite started (BGREWRITEAOF)" in erased.stdout
    assert "persistence: RDB snapshot started (BGSAVE SCHEDULE)" in erased.stdout
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        info = subprocess.run(
            ["redis-cli", "-u", url, "info", "persistence"], capture_output=True, text=True
        ).stdout
        if "aof_rewrite_in_progress:0" in info and "rdb_bgsave_in_progress:0" in info and (
            "aof_rewrite_scheduled:0" in info
        ):
            break
        time.sleep(0.1)
    files = persisted(directory)
    for needle in (CUSTOMER.lstrip("+"), *BODIES):
        assert needle.encode() not in files, needle


def test_with_twilio_problems_are_one_line(run: Callable[..., Result]) -> None:
    development = {"TWILIO_ACCOUNT_SID": None, "TWILIO_AUTH_TOKEN": None}
    line = one_line(run("privacy", "export", CUSTOMER, "--with-twilio", env=development))
    assert line.startswith("botkit: --with-twilio: needs TWILIO_ACCOUNT_SID")
    nowhere = {"BOTKIT_TWILIO_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    for command in ("export", "erase"):
        done = run("privacy", command, CUSTOMER, "--with-twilio", env=nowhere)
        assert done.exit_code == 2, done.output
        assert "Traceback" not in done.output
        assert "botkit: --with-twilio: cannot reach Twilio" in done.stderr
